"""pytest-flask-pgdb: real PostgreSQL test databases for Flask-SQLAlchemy apps.

Three parts, one subpackage each:

* ``databases``: the test databases' lifecycle and safety (names, the guard and its
  mark, the server or a private cluster, create/claim/drop, leftovers);
* ``reset``: the state after each test (rows emptied the way TRUNCATE would; what a
  test left beyond its rows found and undone or named);
* ``parity``: schema parity (migrations vs models: catalog snapshot, ``pg_dump``
  backstop, Alembic autogenerate, the stairway).

``plugin`` wires them into pytest; the README says how an app binds them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pytest_flask_pgdb.errors import SettingsError, TestDatabaseError
from pytest_flask_pgdb.settings import AppDatabase

__all__ = ["AppDatabase", "SettingsError", "TestDatabaseError", "factory_from_environment"]

App = TypeVar("App")


def factory_from_environment(
    create_app: Callable[[], App], variable: str = "DATABASE_URL"
) -> Callable[..., App]:
    """A ``pgdb_app_factory`` for a ``create_app()`` that reads its URL from ``variable``.

    The variable is set to the test database's URL only while the app is built, and put
    back after: the app's factory needs no test-only parameter.
    """

    def factory(*, database_url: str, **_: Any) -> App:
        with environment_variable(variable, database_url):
            return create_app()

    return factory


@contextmanager
def environment_variable(variable: str, value: str) -> Iterator[None]:
    """``os.environ[variable] = value`` for the ``with`` block; what was there after."""
    saved = os.environ.get(variable)
    os.environ[variable] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = saved
