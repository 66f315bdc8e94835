"""What one pytest process sets up once: the server and its test database.

A process is a serial run or one xdist worker. The plugin starts this eagerly after
collection, when a collected test needs a database, so that a failure (no server, a
database that is not ours, too many clients) stops the run before any test, with one
message. The first failure is kept: nothing is tried twice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import MetaData

from pytest_flask_pgdb.databases import namespaces
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
        self.stopped = False  # the plugin stopped the run (its databases are not kept)
        # What the database work cost this process, for the closing line.
        self.started = time.perf_counter()
        self.setup_seconds = 0.0
        self.reset_seconds = 0.0
        self.resets = 0
        self.attempted = False  # did anything ask for a server or database?
        self.notes: list[str] = []  # lines for the run's close (e.g. a parity check not run)
        self._server: Server | None = None
        self._namespace: namespaces.NamespaceClaim | None = None
        self._database: TestDatabase | None = None
        self._schema_built = False
        self._extra: dict[str, TestDatabase] = {}
        self.ended_at_drop: list[str] = []  # sessions the final drops had to end

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

    def namespace(self) -> namespaces.NamespaceClaim:
        """This run's namespace on the server (``namespaces.py``), taken when the first
        database is named (inside ``_attempt``).

        A private cluster is the run's own: its names are plain (or the explicit one).
        """
        if self._namespace is None:
            server, settings = self.server(), self.settings
            if server.private_cluster is not None:
                self._namespace = namespaces.NamespaceClaim(settings.namespace, False, None)
            else:
                self._namespace = namespaces.take(
                    server.maintenance_url,
                    project=settings.project,
                    base=settings.base_name,
                    run=self.run,
                    explicit=settings.namespace,
                    lock_wait=settings.lock_wait,
                    where=server.describe(),
                )
        return self._namespace

    def database(self, metadata: MetaData | None = None) -> TestDatabase:
        """The process's own test database (``…_test`` or ``…_test_gw<N>``).

        Claimed on first request; with ``metadata``, provided once: the database an
        earlier run kept, if it checks out, else a clone of the schema's template.
        """
        if self._database is None:
            self._database = self._attempt(lambda: self._new(None, create=False))
        database = self._database
        if metadata is not None and not self._schema_built:
            self._attempt(lambda: database.provide(metadata))
            self._schema_built = True
        return database

    def extra_database(self, label: str) -> TestDatabase:
        """An empty sibling ``…_<label>_test[_gw<N>]``, created on first request."""
        if label not in self._extra:
            self._extra[label] = self._attempt(lambda: self._new(label))
        return self._extra[label]

    def cloned_database(
        self, label: str, source: str, defined_by: Callable[[], str], build: Callable[[str], None]
    ) -> TestDatabase:
        """A sibling ``…_<label>_test[_gw<N>]`` holding the schema ``build`` makes, cloned
        from its template (``TestDatabase.provide_schema``); on first request."""
        if label not in self._extra:

            def make() -> TestDatabase:
                database = self._new(label, create=False)
                database.provide_schema(source, defined_by, build)
                return database

            self._extra[label] = self._attempt(make)
        return self._extra[label]

    def _new(self, label: str | None, *, create: bool = True) -> TestDatabase:
        server = self.server()
        settings = self.settings
        names = settings.names
        url = url_for_test_database(
            settings.test_url,
            pattern=names,
            worker=self.worker,
            label=label,
            namespace=self.namespace().namespace,
        )
        # The process's own database claims with the namespace's session (one connection
        # fewer); extra databases, dropped before it, connect for themselves.
        admin = self.namespace().hand_over() if label is None else None
        database = TestDatabase(
            server,
            str(url.database),
            run=self.run,
            lock_wait=settings.lock_wait,
            workers=settings.workers,
            project=settings.project,
            alternative=names.render(f"{settings.base_name}_{os.getpid()}"),
            admin=admin,
        )
        # Either cleans up after itself if it fails or is interrupted.
        database.setup() if create else database.claim()
        return database

    def _attempt(self, make: Callable[[], T]) -> T:
        self.attempted = True
        if self.failure is not None:
            raise RunFailed(self.failure)
        start = time.perf_counter()
        try:
            return make()
        except SettingsError as exc:
            self.failure = exc.message
            raise RunFailed(self.failure) from None
        except TestDatabaseError as exc:
            self.failure = str(exc)
            raise RunFailed(self.failure) from None
        finally:
            self.setup_seconds += time.perf_counter() - start

    def _databases(self) -> list[TestDatabase]:
        """Every database this process has: its own first, then the extra ones."""
        return [d for d in [self._database, *self._extra.values()] if d is not None]

    def settings_in_force(self) -> list[str]:
        """Connection settings that change how the server treats the tests, found when
        the databases were claimed (``session_defaults.py``)."""
        return sorted({line for d in self._databases() for line in d.settings_in_force})

    def summary(self) -> dict[str, object] | None:
        """What this process used, for the run's closing line (None: no database)."""
        if self._server is None or self._settings is None:
            return None
        names = [d.name for d in self._databases()]
        return {
            "server": self._server.summary(),
            "databases": names,
            "settings_in_force": self.settings_in_force(),
            "left_by_sweep": sorted({line for d in self._databases() for line in d.left_by_sweep}),
            "namespace": self._namespace.namespace if self._namespace else "",
            "automatic_namespace": bool(self._namespace and self._namespace.automatic),
            "cleanup": self._settings.cleanup,
            "provided": self._schema_built,
            "reused": self._database is not None and self._database.reused,
            "setup": self.setup_seconds,
            "resets": self.resets,
            "reset": self.reset_seconds,
            "wall": time.perf_counter() - self.started,
            "notes": self.notes,
        }

    def close(self, keep: bool = False) -> None:
        """Drop what this process created and leave the server (last one out stops it).

        ``keep``: the run ended in order; its own database is kept for the next run
        (extra databases are always dropped).
        """
        databases = self._databases()
        try:
            for database in self._extra.values():
                database.teardown()
            if self._database is not None:
                self._database.teardown(keep=keep and self.failure is None)
        finally:
            self.ended_at_drop = [line for d in databases for line in d.ended_at_drop]
            self._extra.clear()
            self._database = None
            self._schema_built = False
            if self._namespace is not None:
                self._namespace.close()
                self._namespace = None
            if self._server is not None:
                self._server.release()
                self._server = None
