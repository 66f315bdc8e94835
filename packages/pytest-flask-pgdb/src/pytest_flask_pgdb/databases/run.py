"""What one pytest process sets up once: the server and its test database.

A process is a serial run or one xdist worker. The plugin starts this eagerly after
collection, when a collected test needs a database, so that a failure (no server, a
database that is not ours, too many clients) stops the run before any test, with one
message. The first failure is kept: nothing is tried twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import MetaData

from pytest_flask_pgdb.databases.lifecycle import TestDatabase
from pytest_flask_pgdb.databases.names import url_for_test_database
from pytest_flask_pgdb.databases.server import Server, connect_server
from pytest_flask_pgdb.errors import SettingsError, TestDatabaseError
from pytest_flask_pgdb.settings import TestSettings

T = TypeVar("T")


class RunFailed(Exception):
    """The run's databases could not be provided; ``str()`` is the one-line reason."""


class RunDatabases:
    """The server and test databases of one process, created by run ``run``."""

    def __init__(
        self,
        settings: TestSettings | None,
        *,
        run: str,
        worker: str | None,
        settings_error: str | None = None,
    ) -> None:
        self._settings = settings
        self.run = run
        self.worker = worker
        self.failure = settings_error
        self.attempted = False  # did anything ask for a server or database?
        self._server: Server | None = None
        self._database: TestDatabase | None = None
        self._schema_built = False
        self._extra: dict[str, TestDatabase] = {}

    @property
    def settings(self) -> TestSettings:
        if self._settings is None:
            self.attempted = True
            raise RunFailed(self.failure or "the test settings were not read")
        return self._settings

    def server(self) -> Server:
        if self._server is None:
            self._server = self._attempt(lambda: connect_server(self.settings, self.run))
        return self._server

    def database(self, metadata: MetaData | None = None) -> TestDatabase:
        """The process's own test database (``…_test`` or ``…_test_gw<N>``).

        Created (empty) on first request; with ``metadata``, its schema is built once.
        """
        if self._database is None:
            self._database = self._attempt(lambda: self._new(None))
        database = self._database
        if metadata is not None and not self._schema_built:
            self._attempt(lambda: database.build_schema(metadata))
            self._schema_built = True
        return database

    def extra_database(self, label: str) -> TestDatabase:
        """An empty sibling ``…_<label>_test[_gw<N>]``, created on first request."""
        if label not in self._extra:
            self._extra[label] = self._attempt(lambda: self._new(label))
        return self._extra[label]

    def _new(self, label: str | None) -> TestDatabase:
        server = self.server()
        settings = self.settings
        names = settings.names
        url = url_for_test_database(
            settings.test_url, pattern=names, worker=self.worker, label=label
        )
        database = TestDatabase(
            server,
            str(url.database),
            run=self.run,
            lock_wait=settings.lock_wait,
            workers=settings.workers,
            project=settings.project,
            alternative=names.render(f"{settings.base_name}_{os.getpid()}"),
        )
        database.setup()  # cleans up after itself if it fails or is interrupted
        return database

    def _attempt(self, make: Callable[[], T]) -> T:
        self.attempted = True
        if self.failure is not None:
            raise RunFailed(self.failure)
        try:
            return make()
        except SettingsError as exc:
            self.failure = exc.message
            raise RunFailed(self.failure) from None
        except TestDatabaseError as exc:
            self.failure = str(exc)
            raise RunFailed(self.failure) from None

    def summary(self) -> dict[str, object] | None:
        """What this process used, for the run's closing line (None: no database)."""
        if self._server is None or self._settings is None:
            return None
        names = [d.name for d in [self._database, *self._extra.values()] if d is not None]
        return {
            "server": self._server.summary(),
            "databases": names,
            "cleanup": self._settings.cleanup,
        }

    def close(self) -> None:
        """Drop what this process created and leave the server (last one out stops it)."""
        try:
            for database in [*self._extra.values(), self._database]:
                if database is not None:
                    database.teardown()
        finally:
            self._extra.clear()
            self._database = None
            self._schema_built = False
            if self._server is not None:
                self._server.release()
                self._server = None
