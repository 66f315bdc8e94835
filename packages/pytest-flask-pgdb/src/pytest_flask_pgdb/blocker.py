"""Keeps unit tests away from databases: any connection attempt fails at once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import psycopg2

MESSAGE = (
    "Database access is not allowed in unit tests (tests/unit/): this test tried to open "
    "a PostgreSQL connection. Move it to tests/integration/, where every test gets a real, "
    "empty test database, or mock the database layer."
)


class DatabaseAccessBlocked(RuntimeError):
    """Raised instead of connecting when a unit test reaches for a database."""


def _refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise DatabaseAccessBlocked(MESSAGE)


@contextmanager
def block_database_access() -> Iterator[None]:
    """Within the block, ``psycopg2.connect`` (which SQLAlchemy calls) raises at once."""
    original: Callable[..., Any] = psycopg2.connect
    psycopg2.connect = _refuse
    try:
        yield
    finally:
        psycopg2.connect = original
