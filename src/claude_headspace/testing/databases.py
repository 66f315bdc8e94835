"""The life of one test database: lock, sweep stale siblings, create, build, drop.

A run holds a session-level advisory lock on its database's name (taken on a
connection to the server's ``postgres`` database) for as long as it uses it. So:

* a database whose lock nobody holds was left by an interrupted run: it is dropped;
* a database whose lock is held belongs to a live run: it is never dropped, and a
  second run asking for the same name waits a little, then fails saying so.

PostgreSQL releases the lock when the holding connection ends, also when the process
holding it is killed with SIGKILL.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from ..config import mask_url
from ..database import describe_error
from .errors import DatabaseInUseError, TestDatabaseError
from .names import require_test_connection, require_test_name
from .server import PROBE_TIMEOUT_SECONDS, Server
from .settings import LOCK_WAIT_SETTING

LOCK_NAMESPACE = 0x48535444  # "HSTD": keeps our advisory locks apart from anyone else's
DEFAULT_LOCK_WAIT_SECONDS = 5.0
APPLICATION_NAME = "claude_headspace.testing"


def autocommit_engine(url: URL) -> Engine:
    """An engine for administrative work: no pool, autocommit, bounded connect."""
    return create_engine(
        url,
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={
            "connect_timeout": PROBE_TIMEOUT_SECONDS,
            "application_name": APPLICATION_NAME,
        },
    )


@contextmanager
def autocommit_connection(url: URL) -> Iterator[Connection]:
    """One administrative connection to ``url``, closed (and its engine disposed) after."""
    engine = autocommit_engine(url)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


class TestDatabase:
    """One test database on ``server``; ``setup()`` then ``teardown()``."""

    __test__ = False

    def __init__(self, server: Server, name: str) -> None:
        self.server = server
        self.name = require_test_name(name, "use")
        self.url = server.url(name)
        self._admin_engine = autocommit_engine(server.maintenance_url)
        self._admin: Connection | None = None
        self._owned = False  # True once we hold the name's lock: only then may we drop it

    # -- lifecycle ---------------------------------------------------------------
    def setup(self, metadata: MetaData | None = None) -> None:
        """Lock the name, remove stale leftovers, create the database, build the schema."""
        try:
            self._admin = self._admin_engine.connect()
            self._lock(self._admin, self.name, wait=_lock_wait_seconds())
            self._owned = True
            self.sweep_stale_siblings()
            self._drop(self.name)
            quoted = self._admin.dialect.identifier_preparer.quote(self.name)
            self._admin.execute(text(f"CREATE DATABASE {quoted}"))
            # Test data is deleted after every test: commits need not wait for the disk.
            # A setting of this database only; the server's configuration is untouched.
            self._admin.execute(text(f"ALTER DATABASE {quoted} SET synchronous_commit = off"))
            if metadata is not None:
                self.build_schema(metadata)
        except SQLAlchemyError as exc:
            self.teardown()
            raise TestDatabaseError(
                f"could not create test database {self.name!r} on {self.server.describe()}: "
                f"{describe_error(exc)}. The user needs the CREATEDB privilege; check "
                f"TEST_DATABASE_URL or the database settings ({mask_url(self.url)})."
            ) from None
        except TestDatabaseError:
            self.teardown()
            raise

    def build_schema(self, metadata: MetaData) -> None:
        engine = autocommit_engine(self.url)
        try:
            with engine.begin() as connection:
                require_test_connection(connection, "build a schema in")
                metadata.create_all(connection)
        finally:
            engine.dispose()

    def teardown(self) -> None:
        """Drop the database (even with connections still open) and release the lock."""
        try:
            if self._owned and self._admin is not None and not self._admin.closed:
                self._drop(self.name)
        finally:
            if self._admin is not None:
                self._admin.close()  # ends the session: releases the advisory lock
                self._admin = None
            self._owned = False
            self._admin_engine.dispose()

    # -- stale databases -----------------------------------------------------------
    def sweep_stale_siblings(self) -> list[str]:
        """Drop this database's family (``x_test``, ``x_test_gwN``) left by dead runs."""
        assert self._admin is not None
        family = re.sub(r"_gw[0-9]+$", "", self.name)
        pattern = f"^{re.escape(family)}(_gw[0-9]+)?$"
        names = self._admin.scalars(
            text("SELECT datname FROM pg_database WHERE datname ~ :pattern ORDER BY datname"),
            {"pattern": pattern},
        ).all()
        dropped = []
        for name in names:
            if name == self.name:
                continue
            if self._try_lock(self._admin, name):
                try:
                    self._drop(name)
                    dropped.append(name)
                finally:
                    self._unlock(self._admin, name)
        return dropped

    # -- primitives ------------------------------------------------------------------
    def _drop(self, name: str) -> None:
        require_test_name(name, "drop")
        assert self._admin is not None
        quoted = self._admin.dialect.identifier_preparer.quote(name)
        # FORCE (PostgreSQL 13+) terminates sessions a test may have leaked.
        self._admin.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))

    @staticmethod
    def _try_lock(connection: Connection, name: str) -> bool:
        return bool(
            connection.scalar(
                text("SELECT pg_try_advisory_lock(:ns, hashtext(:name))"),
                {"ns": LOCK_NAMESPACE, "name": name},
            )
        )

    @staticmethod
    def _unlock(connection: Connection, name: str) -> None:
        connection.execute(
            text("SELECT pg_advisory_unlock(:ns, hashtext(:name))"),
            {"ns": LOCK_NAMESPACE, "name": name},
        )

    def _lock(self, connection: Connection, name: str, wait: float) -> None:
        deadline = time.monotonic() + wait
        while not self._try_lock(connection, name):
            if time.monotonic() >= deadline:
                raise DatabaseInUseError(
                    f"test database {name!r} on {self.server.describe()} is in use by another "
                    f"live test run (waited {wait:g} s). Wait for that run to finish, or run "
                    "side by side under another name: set TEST_DATABASE_URL to e.g. "
                    f"{mask_url(self.url.set(database=_other_name(name)))}."
                )
            time.sleep(0.2)


def _lock_wait_seconds() -> float:
    raw = os.environ.get(LOCK_WAIT_SETTING, "").strip()
    if not raw:
        return DEFAULT_LOCK_WAIT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise TestDatabaseError(
            f"{LOCK_WAIT_SETTING} must be a number of seconds (0 or more), got {raw!r}."
        )
    return value


def _other_name(name: str) -> str:
    stem = re.sub(r"_test(_gw[0-9]+)?$", "", name)
    return f"{stem}_{os.getpid()}_test"
