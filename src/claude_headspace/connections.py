"""One connection outside the app's pool, for ``flask create-db``: and the one-line,
password-free description of a database error that every user-facing message uses.

(The test plugin has its own, longer-lived administrative connections: the app never
imports its test machinery.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Connection
from sqlalchemy.pool import NullPool

CONNECT_TIMEOUT_SECONDS = 5
# CREATE DATABASE may outlast a statement_timeout an administrator set for the role.
_NO_TIMEOUTS = "-c statement_timeout=0 -c lock_timeout=0"


@contextmanager
def admin_connection(url: URL | str) -> Iterator[Connection]:
    """One autocommit connection to ``url`` (bounded connect), closed after."""
    engine = create_engine(
        url,
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "application_name": "claude_headspace.admin",
            "options": _NO_TIMEOUTS,
        },
    )
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def describe_error(exc: BaseException) -> str:
    """A one-line, password-free description of a database error."""
    original = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    message = lines[0] if lines else type(original).__name__
    return f"{type(original).__name__}: {message}"
