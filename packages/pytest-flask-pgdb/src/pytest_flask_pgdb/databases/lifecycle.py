"""The life of one test database: claim, sweep abandoned ones, create marked, drop.

A run **claims** its database with a session-level advisory lock on the name, held by
an administrative connection to the server's ``postgres`` database for the whole run.
That connection switches off the server-side session timeouts, so an administrator's
``idle_session_timeout`` cannot end it; if it is ended anyway the cleaner notices at
the next test and the run stops (see ``cleanup.py``).

* Only **marked** databases (see ``guard.py``) are ever dropped: a database with a
  test name and no mark stops the run with a message, and is left as it is.
* A marked database whose lock nobody holds and that nobody is connected to was left
  by an interrupted run: any run of the same project drops it (whatever its name:
  helper databases too). Other projects' databases on a shared server are left alone.
* A database whose lock is held, or that has sessions, belongs to a live run: it is
  never dropped, and a second run asking for the same name waits a little, then fails.

PostgreSQL releases the lock when the holding connection ends, also when the process
holding it is killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime

from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from pytest_flask_pgdb.databases import namespaces, session_defaults, templates
from pytest_flask_pgdb.databases.connections import (
    admin_connection,
    admin_engine,
    describe_error,
    is_server_gone,
    server_gone_message,
)
from pytest_flask_pgdb.databases.guard import (
    KEPT,
    MARK_LIKE,
    RUN,
    STAGING_SQL,
    Mark,
    database_exists_with_mark,
    is_staging_of,
    is_test_database_name,
    require_own_connection,
    require_test_name,
    staging_name,
)
from pytest_flask_pgdb.databases.locks import try_lock, unlock
from pytest_flask_pgdb.databases.server import (
    CONNECTIONS_PER_WORKER,
    MAINTENANCE_DATABASE,
    Server,
    is_too_many_clients,
    too_many_clients_message,
)
from pytest_flask_pgdb.errors import DatabaseInUseError, TestDatabaseError, UnownedDatabaseError
from pytest_flask_pgdb.reset.isolation import KEPT_CHECK
from pytest_flask_pgdb.settings import DEFAULT_LOCK_WAIT_SECONDS
from pytest_flask_pgdb.urls import mask_url

__all__ = ["TestDatabase", "drop_abandoned", "marked_databases", "try_lock", "unlock"]

APPLICATION_NAME = "pytest_flask_pgdb"
INSUFFICIENT_PRIVILEGE = "42501"
RECLAIM_SECONDS = 2.0  # how long a teardown waits for a lost claim's lock to come free

_SESSIONS_ON = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"
)
# Connection slots open to this user: superusers may also use the reserved ones.
# The connections this role may open; and when the server started (a later start time
# tells a restart from anything else that ended our sessions).
_CONNECTION_LIMIT = text(
    "SELECT current_setting('max_connections')::int - CASE WHEN rolsuper THEN 0 "
    "ELSE current_setting('superuser_reserved_connections')::int END, "
    "pg_postmaster_start_time() "
    "FROM pg_roles RIGHT JOIN (SELECT) AS one ON rolname = current_user"
)
# Connections in use on the server, by database; and how many processes of this run
# have started (each holds a namespace session: namespaces.py).
_IN_USE = text(
    "SELECT coalesce(datname, ''), count(*), "
    "count(*) FILTER (WHERE application_name = :mine) "
    "FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1 ORDER BY 2 DESC"
)
# What must be undone before DROP DATABASE: a template flag, prepared transactions.
_DROP_FACTS = text(
    "SELECT datistemplate, ARRAY(SELECT gid FROM pg_prepared_xacts WHERE database = :name) "
    "FROM pg_database WHERE datname = :name"
)
DROP_LOCK_TIMEOUT = "5s"
LOCK_NOT_AVAILABLE = "55P03"
# Sessions (other than ours) in the way of dropping a database: holding a lock on it, or
# in a transaction that changed (and so locks) one of its catalog rows — its settings
# (ALTER DATABASE … SET), its row (ALTER DATABASE …), its comment. Ended as listed.
_LOCK_HOLDERS = text(
    "WITH target AS (SELECT oid FROM pg_database WHERE datname = :name), "
    "xids AS ("
    "  SELECT xmax FROM pg_database WHERE oid = (SELECT oid FROM target) "
    "  UNION SELECT xmax FROM pg_db_role_setting WHERE setdatabase = (SELECT oid FROM target) "
    "  UNION SELECT xmax FROM pg_shdescription "
    "        WHERE objoid = (SELECT oid FROM target) AND classoid = 'pg_database'::regclass), "
    "holders AS MATERIALIZED ("
    "  SELECT a.pid, a.application_name, a.state, left(a.query, 120) AS query "
    "  FROM pg_stat_activity a "
    "  WHERE a.pid <> pg_backend_pid() AND ("
    "    a.backend_xid IN (SELECT xmax FROM xids WHERE NOT xmax = '0'::xid) "
    "    OR a.pid IN (SELECT l.pid FROM pg_locks l WHERE l.locktype = 'object' AND l.granted "
    "                 AND l.classid = 'pg_database'::regclass "
    "                 AND l.objid = (SELECT oid FROM target)))) "
    "SELECT pid, application_name, state, query FROM holders "
    "WHERE pg_terminate_backend(pid, 5000)"
)
_ABANDONED_CANDIDATES = text(
    "SELECT datname FROM pg_database "
    "WHERE shobj_description(oid, 'pg_database') LIKE :mark OR datname ~ :staging "
    "ORDER BY datname"
)
# The same, with what the sweep decides on, in one round trip; only databases this
# user may drop (its own, or any for a superuser): another role's are not ours to sweep.
_SWEEP_CANDIDATES = text(
    "SELECT d.datname, shobj_description(d.oid, 'pg_database'), "
    "(SELECT count(*) FROM pg_stat_activity a "
    " WHERE a.datname = d.datname AND a.pid <> pg_backend_pid()) "
    "FROM pg_database d "
    "WHERE (shobj_description(d.oid, 'pg_database') LIKE :mark OR d.datname ~ :staging) "
    "AND (pg_has_role(d.datdba, 'MEMBER') "
    "     OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)) "
    "ORDER BY d.datname"
)


class TestDatabase:
    """One test database on ``server``, created by ``run``; ``setup()`` then ``teardown()``."""

    __test__ = False

    def __init__(
        self,
        server: Server,
        name: str,
        *,
        run: str,
        project: str,
        lock_wait: float = DEFAULT_LOCK_WAIT_SECONDS,
        workers: int = 0,
        alternative: str | None = None,
        admin: Connection | None = None,
    ) -> None:
        self.server = server
        self.name = require_test_name(name, "use")
        self.url = server.url(name)
        self.run = run
        self.lock_wait = lock_wait
        self.workers = workers
        self.project = project
        # A serial test database name no other run uses: advice for running side by side.
        self.alternative = alternative or f"{name}_{os.getpid()}_test"
        self._admin_engine = admin_engine(server.maintenance_url, APPLICATION_NAME)
        self._admin: Connection | None = None
        # An administrative connection to take over (the run's namespace session, whose
        # lock then lasts exactly as long as this database's claim): one connect fewer.
        self._given_admin = admin
        self._owned = False  # True once we hold the name's lock: only then may we drop it
        self._staging: str | None = None  # created, not yet renamed to our name
        self._mark = Mark.new(run, project).comment()
        self._kept: Mark | None = None  # a kept database of an earlier run, found at claim
        self.template: str | None = None  # the schema template this database is cloned from
        self.schema: str | None = None  # what the schema is (templates.schema_id)
        self.reused = False  # a kept database, checked and taken over: not rebuilt
        self.left_by_sweep: list[str] = []  # what the sweep could not drop, one line each
        self.settings_in_force: list[str] = []  # session_defaults.py: named in the closing line
        self.ended_at_drop: list[str] = []  # sessions that held a lock on it (see _drop_database)
        self.server_started: datetime | None = None  # pg_postmaster_start_time() at the claim

    @functools.cached_property
    def _role(self) -> str:
        """Templates are per role: a role may clone only the databases it owns."""
        assert self._admin is not None
        return str(self._admin.scalar(text("SELECT current_user")))

    @functools.cached_property
    def server_version(self) -> int:
        assert self._admin is not None
        return int(self._admin.scalar(text("SHOW server_version_num")) or 0)

    @property
    def claim_pid(self) -> int | None:
        """The backend pid of the connection that holds our claim (for the cleaner)."""
        if self._admin is None:
            return None
        return int(self._admin.connection.dbapi_connection.get_backend_pid())  # type: ignore[union-attr]

    # -- lifecycle ---------------------------------------------------------------
    def setup(self, metadata: MetaData | None = None) -> None:
        """Claim the name, drop abandoned databases, create ours marked, build the schema."""
        with self._setting_up():
            self._claim_name(sweep=True)
            if self._kept is not None:
                self._drop(self.name)
                self._kept = None
            self._create()
            if metadata is not None:
                self.build_schema(metadata)

    def claim(self) -> None:
        """Claim the name; create nothing yet: ``provide`` sweeps and builds.

        A kept database under our name is remembered, to be checked by ``provide``.
        """
        with self._setting_up():
            self._claim_name(sweep=False)
            self._check_createdb()

    def provide(self, metadata: MetaData) -> None:
        """The schema of ``metadata``: a kept database that checks out, else a clone of
        the schema's template (built first if no run built it before)."""
        self.provide_schema(
            "metadata",
            lambda: templates.metadata_ddl(metadata),
            lambda staging: self._build_in(staging, metadata),
        )

    def provide_schema(
        self, source: str, defined_by: Callable[[], str], build: Callable[[str], None]
    ) -> None:
        """The schema ``build`` makes in an empty database. Its template is named by a
        hash of ``defined_by()`` (what defines the schema) and the server's version;
        ``source`` says what kind of schema it is (a template of the same source with
        another key is stale)."""
        with self._setting_up():
            assert self._admin is not None
            schema_key = templates.schema_key(
                source, defined_by(), str(self.server_version), self._role
            )
            schema = templates.schema_id(source, schema_key)
            drop_abandoned(
                self._admin, self.project, keep=self.name, schema=schema, left=self.left_by_sweep
            )
            kept, self._kept = self._kept, None
            if kept is not None and kept.schema == schema and self._kept_unchanged(kept):
                self._mark_as(self._mark)
                self.reused = True
            else:
                if kept is not None:
                    self._drop(self.name)
                self.template = templates.ensure_template(
                    self._admin,
                    project=self.project,
                    run=self.run,
                    source=source,
                    key=schema_key,
                    build=build,
                    lock_wait=self.lock_wait,
                    where=self.server.describe(),
                )
                self._create()
            self.schema = schema

    @contextlib.contextmanager
    def _setting_up(self) -> Iterator[None]:
        """Errors as one message; whatever was half done is undone."""
        try:
            yield
        except SQLAlchemyError as exc:
            try:
                in_force = [] if is_server_gone(exc) else self._settings_in_force()
            except SQLAlchemyError as later:  # the server went away meanwhile
                exc, in_force = later, []
            self.teardown()
            if is_server_gone(exc):  # nothing else to blame
                raise TestDatabaseError(
                    server_gone_message(
                        self.server.describe(), f"the setup of test database {self.name!r}", exc
                    )
                ) from None
            if is_too_many_clients(exc):
                raise TestDatabaseError(
                    too_many_clients_message(self.server.describe(), self.workers)
                ) from None
            failed = (
                f"could not create test database {self.name!r} on {self.server.describe()}: "
                f"{describe_error(exc)}."
            )
            if in_force:  # the likelier cause than privileges or the URL
                raise TestDatabaseError(f"{failed}{session_defaults.as_cause(in_force)}") from None
            if getattr(getattr(exc, "orig", None), "pgcode", None) == INSUFFICIENT_PRIVILEGE:
                advice = "The user needs the CREATEDB privilege; check "
            else:
                advice = "Check "
            raise TestDatabaseError(
                f"{failed} {advice}TEST_DATABASE_URL or the database settings "
                f"({mask_url(self.url)})."
            ) from None
        except BaseException:  # TestDatabaseError, or Ctrl-C in the middle of it all
            self.teardown()
            raise

    def _settings_in_force(self) -> list[str]:
        """Watched connection settings of PGOPTIONS and the role's and databases'
        defaults (``session_defaults.py``); what the server says, if it still answers."""
        found = session_defaults.from_environment(os.environ)
        if self._admin is not None:
            try:
                found += session_defaults.from_server(
                    self._admin, [MAINTENANCE_DATABASE, self.name]
                )
            except SQLAlchemyError as exc:
                if is_server_gone(exc):
                    raise  # the claim's session is gone: that is the news, not the settings
        return found

    def _claim_name(self, *, sweep: bool) -> None:
        self._admin, self._given_admin = self._given_admin or self._admin_engine.connect(), None
        self.settings_in_force = self._settings_in_force()
        self._check_capacity()
        self._claim(self.name)
        self._owned = True
        if sweep:
            self.drop_abandoned()
        exists, mark = database_exists_with_mark(self._admin, self.name)
        if exists and mark is None:
            raise UnownedDatabaseError(self._unowned_message())
        if exists and mark is not None and mark.kind == KEPT and mark.project == self.project:
            self._kept = mark
        elif exists:
            self._drop(self.name)  # a marked leftover of an interrupted run

    def _check_createdb(self) -> None:
        """Say now, before any test, if the user may not create databases."""
        assert self._admin is not None
        if not self._admin.scalar(
            text("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")
        ):
            raise TestDatabaseError(
                f"could not create test database {self.name!r} on {self.server.describe()}: "
                "the user may not create databases. The user needs the CREATEDB privilege "
                f"(ALTER ROLE … CREATEDB); check TEST_DATABASE_URL or the database settings "
                f"({mask_url(self.url)})."
            )

    def _kept_unchanged(self, kept: Mark) -> bool:
        """Nobody is connected, and no DDL ran since the database was kept."""
        if self._sessions(self.name):
            return False
        return self._catalog_check() == kept.check

    def _catalog_check(self) -> str:
        with admin_connection(self.url, APPLICATION_NAME) as connection:
            return str(connection.scalar(text(f"SELECT {KEPT_CHECK}")))

    def _mark_as(self, comment: str) -> None:
        assert self._admin is not None
        self._admin.execute(
            text(f"COMMENT ON DATABASE {self._quote(self.name)} IS :mark").bindparams(mark=comment)
        )

    def rebuild(self, metadata: MetaData) -> None:
        """Drop and create the database again with its schema: the state setup made.

        For a test that changed more than rows. The claim is kept throughout; a mark the
        test changed is put back first (we created this database and still hold it).
        """
        if self._admin is None or not self._owned:
            raise TestDatabaseError(f"cannot rebuild {self.name!r}: this run does not hold it")
        self._mark_as(self._mark)
        self._drop(self.name)
        self._create()
        if self.template is None:
            self.build_schema(metadata)

    def build_schema(self, metadata: MetaData) -> None:
        self._build_in(self.name, metadata)

    def _build_in(self, name: str, metadata: MetaData) -> None:
        try:
            url = self.server.url(name)
            with admin_connection(url, APPLICATION_NAME) as connection, connection.begin():
                require_own_connection(connection, self.run, "build a schema in")
                metadata.create_all(connection)
        except SQLAlchemyError as exc:
            if is_server_gone(exc):
                raise  # not the metadata's fault: _setting_up says what happened
            raise TestDatabaseError(
                f"could not build the schema of test database {self.name!r} from the "
                f"pgdb_metadata fixture: {describe_error(exc)}"
            ) from None

    def teardown(self, keep: bool = False) -> None:
        """Drop what we created (even with connections still open) and release the claim.

        On the claim's own connection if it still works; otherwise (the claim was lost,
        or an interrupt left the connection unusable) on a fresh one, dropping only
        what it can claim again: anything else may belong to another run by now.

        ``keep``: the run ended in order and every test's reset held; the database (if
        it was provided from a template) is kept, marked with its schema and catalog
        check, for the next run to take over instead of cloning.
        """
        interrupted: BaseException | None = None
        try:
            if keep and self._keep():
                self._owned = False
        except BaseException as exc:  # Ctrl-C while keeping: drop it instead, then stop
            interrupted = exc
        mine = [n for n in (self._staging, self.name if self._owned else None) if n]
        self._staging, self._owned = None, False
        try:
            if mine:
                try:
                    self._drop_mine(mine, claimed=True)
                except SQLAlchemyError:
                    self._close_admin()
                    try:
                        self._admin = self._admin_engine.connect()
                        self._drop_mine(mine, claimed=False)
                    except SQLAlchemyError as exc:
                        if not is_server_gone(exc):
                            raise
                        # No server to drop them on: the next run's sweep does.
        finally:
            self._close_admin()
            self._admin_engine.dispose()
        if interrupted is not None:
            raise interrupted

    def _keep(self) -> bool:
        """Mark the database kept, if it is ours, provided, and nobody else is on it."""
        if self._admin is None or not self._owned or self.schema is None or self._staging:
            return False
        try:
            deadline = time.monotonic() + RECLAIM_SECONDS
            while self._sessions(self.name):  # closed sessions may be exiting still
                if time.monotonic() >= deadline:
                    return False  # a leaked session: drop (FORCE) rather than keep
                time.sleep(0.02)
            kept = Mark.new(self.run, self.project, KEPT, self.schema, self._catalog_check())
            self._mark_as(kept.comment())
            return True
        except SQLAlchemyError:
            return False

    def _drop_mine(self, names: list[str], *, claimed: bool) -> None:
        if self._admin is None:
            raise _NoConnection("no administrative connection")
        self._admin.execute(text("SELECT 1"))  # raises if the connection was ended
        for name in names:
            if not claimed and not self._reclaim(name):
                continue  # another run took it: not ours to drop any more
            exists, mark = database_exists_with_mark(self._admin, name)
            if exists and ((mark is not None and mark.run == self.run) or self._is_staging(name)):
                self._drop(name)

    def _reclaim(self, name: str) -> bool:
        """Take the name's lock again after our claim was lost.

        The session that held it may still be exiting (its lock goes with it a moment
        after ``pg_terminate_backend`` returns): try for up to ``RECLAIM_SECONDS``.
        """
        assert self._admin is not None
        deadline = time.monotonic() + RECLAIM_SECONDS
        while not try_lock(self._admin, name):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)  # the server's lock table, polled: no event crosses to us
        return True

    def _close_admin(self) -> None:
        if self._admin is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._admin.close()  # ends the session: releases the advisory locks
            self._admin = None

    def _check_capacity(self) -> None:
        """Fail up front when the server cannot hold every worker's connections, counting
        what other clients (other test runs among them) hold already."""
        assert self._admin is not None
        row = self._admin.execute(_CONNECTION_LIMIT).one()
        limit, self.server_started = int(row[0]), row[1]
        workers = max(self.workers, 1)
        in_use = self._admin.execute(_IN_USE, {"mine": namespaces.application_name(self.run)})
        by_database = [(str(row[0]), int(row[1]), int(row[2])) for row in in_use]
        started = sum(mine for _, _, mine in by_database)  # this run's processes so far
        needed = max(workers - max(started - 1, 0), 1) * CONNECTIONS_PER_WORKER
        used = sum(count for _, count, _ in by_database)
        if limit - used >= needed:
            return
        holders = ", ".join(
            f"{name or '(no database)'}: {count}" for name, count, _ in by_database[:5]
        )
        raise TestDatabaseError(
            f"{too_many_clients_message(self.server.describe(), self.workers)} "
            f"(max_connections allows {limit} for this user; {used} in use — {holders}"
            f"{', …' if len(by_database) > 5 else ''}; other test runs are named by their "
            "databases)"
        )

    # -- abandoned databases -------------------------------------------------------
    def drop_abandoned(self) -> list[str]:
        """Drop marked databases (and staging leftovers) no live run holds or uses."""
        assert self._admin is not None
        return drop_abandoned(self._admin, self.project, keep=self.name, left=self.left_by_sweep)

    # -- primitives ------------------------------------------------------------------
    def _create(self) -> None:
        """CREATE under a staging name, mark it, then rename: never unmarked under ours."""
        assert self._admin is not None
        staging = staging_name(self.project)
        self._claim(staging)
        try:
            self._staging = staging
            if self.template is not None:
                self._admin.execute(
                    text(
                        templates.clone_sql(
                            self._quote, self.template, staging, self.server_version
                        )
                    )
                )
            else:
                self._admin.execute(text(f"CREATE DATABASE {self._quote(staging)}"))
            self._admin.execute(
                text(f"COMMENT ON DATABASE {self._quote(staging)} IS :mark").bindparams(
                    mark=self._mark
                )
            )
            self._admin.execute(
                text(f"ALTER DATABASE {self._quote(staging)} RENAME TO {self._quote(self.name)}")
            )
            self._staging = None
        finally:
            unlock(self._admin, staging)
        # Test data is deleted after every test: commits need not wait for the disk.
        # A setting of this database only; the server's configuration is untouched.
        self._admin.execute(
            text(f"ALTER DATABASE {self._quote(self.name)} SET synchronous_commit = off")
        )

    def _drop(self, name: str) -> None:
        """DROP a marked database: the name and the mark are checked right before."""
        assert self._admin is not None
        _, mark = database_exists_with_mark(self._admin, name)
        if mark is None and not self._is_staging(name):
            raise UnownedDatabaseError(self._unowned_message(name))
        self.ended_at_drop += _drop_database(self._admin, name)

    def _is_staging(self, name: str) -> bool:
        return is_staging_of(name, self.project)

    def _sessions(self, name: str) -> int:
        assert self._admin is not None
        return _sessions_on(self._admin, name)

    def _claim(self, name: str) -> None:
        """Take the name's lock, and see nobody connected; wait up to ``lock_wait``."""
        assert self._admin is not None
        deadline = time.monotonic() + self.lock_wait
        while True:
            if try_lock(self._admin, name):
                if not self._sessions(name):
                    return
                unlock(self._admin, name)  # a run whose claim was lost still uses it
            if time.monotonic() >= deadline:
                raise DatabaseInUseError(
                    f"test database {name!r} on {self.server.describe()} is in use by another "
                    f"live test run (waited {self.lock_wait:g} s). Wait for that run to "
                    "finish, or run side by side under another name: set TEST_DATABASE_URL "
                    f"to e.g. {mask_url(self.url.set(database=self._other_name()))}."
                )
            time.sleep(0.2)

    def _unowned_message(self, name: str | None = None) -> str:
        name = name or self.name
        other = mask_url(self.url.set(database=self._other_name()))
        return (
            f"database {name!r} exists on {self.server.describe()} but was not created by "
            "the tests (it has no test-run mark), so they will neither empty nor drop it. If "
            f"it is disposable, drop it yourself (DROP DATABASE {name};); otherwise set "
            f"TEST_DATABASE_URL to another name, e.g. {other}."
        )

    def _other_name(self) -> str:
        return self.alternative

    def _quote(self, name: str) -> str:
        assert self._admin is not None
        return self._admin.dialect.identifier_preparer.quote(name)


def marked_databases(
    connection: Connection, project: str | None = None
) -> list[tuple[str, Mark | None, bool]]:
    """Every marked (or staging) database, of ``project`` if given: ``(name, mark, abandoned)``.

    Abandoned: no live run holds its lock and nobody is connected to it.
    """
    found = []
    for name in connection.scalars(
        _ABANDONED_CANDIDATES, {"mark": MARK_LIKE, "staging": STAGING_SQL}
    ).all():
        _, mark = database_exists_with_mark(connection, name)
        if project is not None and not _of_project(name, mark, project):
            continue
        held = not try_lock(connection, name)
        if not held:
            unlock(connection, name)
        found.append((name, mark, not held and not _sessions_on(connection, name)))
    return found


def drop_abandoned(
    connection: Connection,
    project: str,
    keep: str | None = None,
    *,
    schema: str | None = None,
    caches: bool = False,
    left: list[str] | None = None,
) -> list[str]:
    """Drop every abandoned marked database of ``project`` but ``keep``; what was dropped.

    What it may not or cannot drop is skipped, never a reason to stop: a marked database
    renamed to a name that is not a test name (someone keeps it), or one the server
    refuses to drop. ``left`` receives one line for each.

    Templates and kept databases are a cache, not abandoned: dropped only with
    ``caches`` (``--pgdb-remove-leftovers``), or, for a template, when it holds another
    version of ``schema`` (``templates.is_stale``); a kept database is taken over or
    replaced by the run that claims its name. One query finds the candidates; each is
    claimed (its lock) and checked again before it is dropped, so a run that starts
    meanwhile keeps its database.
    """

    def droppable(name: str, mark: Mark | None, sessions: int) -> bool:
        if name == keep or sessions or not _of_project(name, mark, project):
            return False
        # A staging name nobody holds is half of something a killed run was making.
        staging = is_staging_of(name, project)
        return mark is None or mark.kind == RUN or staging or caches or _stale(mark, schema)

    dropped: list[str] = []
    rows = connection.execute(_SWEEP_CANDIDATES, {"mark": MARK_LIKE, "staging": STAGING_SQL})
    for row in rows.all():
        name, comment, sessions = str(row[0]), row[1], int(row[2])
        if not droppable(name, Mark.parse(comment), sessions):
            continue
        if not is_test_database_name(name):
            if left is not None:
                left.append(
                    f"{name!r} carries a test run's mark but not a test name (renamed by "
                    f"someone?): left alone; if it is disposable, DROP DATABASE {name};"
                )
            continue
        if not try_lock(connection, name):
            continue
        try:  # claimed: checked again, now that no run can start on it meanwhile
            exists, mark = database_exists_with_mark(connection, name)
            if exists and droppable(name, mark, _sessions_on(connection, name)):
                ended = _drop_database(connection, name)
                dropped.append(name)
                if left is not None:
                    left.extend(f"(while dropping {name!r}) {line}" for line in ended)
        except SQLAlchemyError as exc:
            if left is not None:
                left.append(f"{name!r} could not be dropped: {describe_error(exc)}")
        finally:
            unlock(connection, name)
    return dropped


def _stale(mark: Mark, schema: str | None) -> bool:
    """A template of another version of ``schema``. (A kept database is for the run
    that claims its name: it takes it over, or replaces it.)"""
    return mark.kind != KEPT and schema is not None and templates.is_stale(mark, schema)


def _of_project(name: str, mark: Mark | None, project: str) -> bool:
    """Marked by ``project``, or its staging leftover (a crash before the mark)."""
    return mark.project == project if mark is not None else is_staging_of(name, project)


def _drop_database(connection: Connection, name: str) -> list[str]:
    """DROP a test-named database whose mark the caller has checked; returns what it had
    to undo first (prepared transactions in it rolled back, sessions holding a lock on
    it ended), one line each."""
    require_test_name(name, "drop")
    quoted = connection.dialect.identifier_preparer.quote(name)
    facts = connection.execute(_DROP_FACTS, {"name": name}).first()
    if facts is None:
        return []
    template, prepared = bool(facts[0]), list(facts[1])
    # A test may have made its database a template (ALTER DATABASE … IS_TEMPLATE true),
    # which DROP refuses; ours never are (templates.py clones any database we own).
    if template:
        connection.execute(text(f"ALTER DATABASE {quoted} IS_TEMPLATE false"))
    # A prepared transaction in it (a run killed before the reset after the test that
    # left it) makes DROP fail; only a session on that database may roll it back.
    rolled_back = []
    if prepared:
        with admin_connection(connection.engine.url.set(database=name)) as inside:
            for gid in prepared:
                inside.exec_driver_sql("ROLLBACK PREPARED %s", (gid,))
                rolled_back.append(
                    f"prepared transaction {gid!r} in test database {name!r}: rolled back"
                )
    # FORCE (PostgreSQL 13+) terminates sessions a test may have leaked in the database.
    # A session elsewhere holding a lock on it (a test's ALTER DATABASE left uncommitted
    # on the maintenance database) would make DROP wait forever: the wait is bounded,
    # then that session is ended and named.
    drop = text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    connection.execute(text(f"SET lock_timeout = '{DROP_LOCK_TIMEOUT}'"))
    try:
        try:
            connection.execute(drop)
            return rolled_back
        except OperationalError as exc:
            if getattr(exc.orig, "pgcode", None) != LOCK_NOT_AVAILABLE:
                raise
        ended = [
            f"session pid {pid} ({application or 'no application name'}, "
            f"{state}, last query {query!r}) held a lock on test database {name!r}: ended"
            for pid, application, state, query in connection.execute(_LOCK_HOLDERS, {"name": name})
        ]
        connection.execute(drop)
        return rolled_back + ended
    finally:
        connection.execute(text("SET lock_timeout = 0"))  # the claim session waits as before


def _sessions_on(connection: Connection, name: str) -> int:
    return int(connection.scalar(_SESSIONS_ON, {"name": name}) or 0)


class _NoConnection(SQLAlchemyError):
    """Teardown found no administrative connection to work on."""
