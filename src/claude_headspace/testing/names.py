"""Test database names and URLs, and the guard that refuses any other database.

``url_for_test_database`` is the one function that builds a test database's URL and name:

* the base is ``TEST_DATABASE_URL`` when set, else the app's settings (config.yaml and
  ``DATABASE_HOST``/``_PORT``/``_NAME``/``_USER``/``_PASSWORD``; never ``DATABASE_URL``)
  with ``_test`` appended to the name: ``claude_headspace_test``;
* a label names a purpose-specific sibling: ``claude_headspace_migrations_test``;
* under pytest-xdist the worker id is appended: ``claude_headspace_test_gw0``.
"""

from __future__ import annotations

import os
import re

from sqlalchemy.engine import URL, Connection
from sqlalchemy.sql import text

from ..config import ConfigError, build_database_url, load_config, parse_database_url
from .errors import UnsafeDatabaseError
from .settings import TEST_DATABASE_URL

TEST_SUFFIX = "_test"
TEST_NAME = re.compile(r"^[a-z0-9_]+_test(_gw[0-9]+)?$")
WORKER_ID = re.compile(r"^gw[0-9]+$")
MAX_NAME_LENGTH = 63  # PostgreSQL's NAMEDATALEN - 1: longer names are silently truncated


def is_test_database_name(name: str | None) -> bool:
    return bool(name) and len(name) <= MAX_NAME_LENGTH and bool(TEST_NAME.match(name))


def require_test_name(name: str | None, action: str = "use") -> str:
    """Return ``name`` if it is a test database name, else raise UnsafeDatabaseError."""
    if not is_test_database_name(name):
        raise UnsafeDatabaseError(
            f"refusing to {action} database {name!r}: it is not a test database. Test "
            "databases are named <name>_test or <name>_test_gw<N> (lowercase letters, digits, "
            f"underscores; at most {MAX_NAME_LENGTH} characters). Set TEST_DATABASE_URL to a "
            "database whose name ends in _test."
        )
    return name


def require_test_connection(connection: Connection, action: str = "use") -> str:
    """Guard on what the server says, not on a setting: ``current_database()``."""
    name = connection.scalar(text("SELECT current_database()"))
    return require_test_name(name, action)


def current_worker() -> str | None:
    """The pytest-xdist worker id (``gw0`` ...) or None in a serial run."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "").strip()
    return worker if WORKER_ID.match(worker) else None


def base_test_url() -> URL:
    """The serial run's test database URL (see the module docstring)."""
    raw = os.environ.get(TEST_DATABASE_URL, "").strip()
    if raw:
        url = parse_database_url(raw, TEST_DATABASE_URL)
        if not url.database.endswith(TEST_SUFFIX) or not is_test_database_name(url.database):
            raise ConfigError(
                f"{TEST_DATABASE_URL} names database {url.database!r}, which is not a test "
                "database: the tests create, empty and drop it, so its name must end in _test "
                f"(for example {url.database.lower().rstrip('_')}_test)."
            )
        return url
    database = load_config()["database"]
    return build_database_url(database, name=f"{database['name']}{TEST_SUFFIX}")


def url_for_test_database(
    base: URL | None = None, *, worker: str | None = None, label: str | None = None
) -> URL:
    """The URL of a test database: ``<stem>[_<label>]_test[_<worker>]``."""
    base = base if base is not None else base_test_url()
    stem = base.database[: -len(TEST_SUFFIX)]
    name = f"{stem}_{label}{TEST_SUFFIX}" if label else f"{stem}{TEST_SUFFIX}"
    if worker:
        name = f"{name}_{worker}"
    return base.set(database=require_test_name(name, "name"))
