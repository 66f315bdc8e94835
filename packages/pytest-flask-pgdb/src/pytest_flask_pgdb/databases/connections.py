"""Connections outside the app's pool: administrative work on a PostgreSQL server.

One primitive serves ``flask create-db`` (``cli.py``) and the test machinery (server
checks, creating and dropping test databases, the cleaner): an engine without a pool,
in autocommit, with a bounded connect. Also the one-line, password-free description of
a database error that every user-facing message uses, and what tells a server that
went away (shut down, restarted, refuses connections) from any other error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import NullPool

CONNECT_TIMEOUT_SECONDS = 5

ADMIN_APPLICATION_NAME = "pytest_flask_pgdb.admin"
# Server-side limits an administrator may set on the server, a database or a role. An
# administrative session is idle for long stretches (it holds a lock for a whole test
# run) or runs one long statement (CREATE DATABASE): these would end it.
ADMIN_TIMEOUTS_OFF = (
    "SELECT set_config(name, '0', false) FROM pg_settings WHERE name IN "
    "('idle_session_timeout', 'idle_in_transaction_session_timeout', "
    "'statement_timeout', 'lock_timeout')"
)
# The same at login, where the settings exist in every supported version: a statement
# timeout set as a role default (a test's ALTER ROLE … SET statement_timeout = '1ms')
# would cancel even the statement above. Appended to PGOPTIONS, which stays in force.
ADMIN_LOGIN_OPTIONS = (
    "-c statement_timeout=0 -c lock_timeout=0 -c idle_in_transaction_session_timeout=0"
)


def admin_engine(url: URL | str, application_name: str = ADMIN_APPLICATION_NAME) -> Engine:
    """An engine for administrative work: no pool, autocommit, bounded connect.

    Every connection switches off the server-side session timeouts (see above) and
    uses TCP keepalives, so a connection held for hours stays ours.
    """
    url = make_url(url)
    options = str(url.query.get("options") or os.environ.get("PGOPTIONS", ""))
    engine = create_engine(
        url.difference_update_query(["options"]),
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "application_name": application_name,
            "options": f"{options} {ADMIN_LOGIN_OPTIONS}".strip(),
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        },
    )

    @event.listens_for(engine, "connect")
    def _timeouts_off(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(ADMIN_TIMEOUTS_OFF)
        dbapi_connection.commit()

    return engine


@contextmanager
def admin_connection(
    url: URL | str, application_name: str = ADMIN_APPLICATION_NAME
) -> Iterator[Connection]:
    """One administrative connection to ``url``, closed (and its engine disposed) after."""
    engine = admin_engine(url, application_name)
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


# A server starting up, shutting down or in recovery: SQLSTATE cannot_connect_now, and
# libpq's words for it (a refused login carries no SQLSTATE).
CANNOT_CONNECT_NOW = "57P03"
NOT_ACCEPTING_NOW = "the database system is"  # … starting up / shutting down / in recovery
# SQLSTATEs of a server ending or refusing sessions: admin_shutdown (a shutdown, or
# pg_terminate_backend), crash_shutdown, cannot_connect_now.
SERVER_GONE_CODES = frozenset({"57P01", "57P02", CANNOT_CONNECT_NOW})
# libpq's words when there is no server to give a SQLSTATE.
SERVER_GONE_PHRASES = (
    "server closed the connection unexpectedly",
    "could not receive data from server",
    "could not send data to server",
    "SSL connection has been closed unexpectedly",
    "connection already closed",
    "terminating connection due to administrator command",
    "Connection refused",
    "No such file or directory",
    NOT_ACCEPTING_NOW,
)


def is_server_gone(exc: BaseException) -> bool:
    """Did ``exc`` come from the server going away rather than from what we sent?"""
    if getattr(exc, "connection_invalidated", False):
        return True
    original = getattr(exc, "orig", None) or exc
    if getattr(original, "pgcode", None) in SERVER_GONE_CODES:
        return True
    return any(phrase in str(original) for phrase in SERVER_GONE_PHRASES)


def is_not_accepting_now(exc: BaseException) -> bool:
    """Is the server starting up, shutting down or recovering (worth waiting for)?"""
    original = getattr(exc, "orig", None) or exc
    return getattr(original, "pgcode", None) == CANNOT_CONNECT_NOW or (
        NOT_ACCEPTING_NOW in str(original)
    )


def server_gone_message(where: str, during: str, exc: BaseException) -> str:
    """One line for a server that went away ``during`` something: the cause, what to do."""
    return (
        f"the PostgreSQL server at {where} went away during {during} ({describe_error(exc)}): "
        "it shut down, restarted or ended our connections. Start it (or wait for the "
        "restart) and run again: the next run removes what this one left."
    )
