"""Empty the test database between tests: the state ``TRUNCATE ... RESTART IDENTITY`` gives.

Two strategies reach the same end state — every application table empty, every
sequence the tables own back at its start value, nothing else touched:

* ``delete`` (default): ``DELETE FROM`` each table, children first, then ``setval`` on
  only the sequences that moved — one round trip. Deleting a handful of rows is far
  cheaper than truncating: TRUNCATE's cost is per relation file, whatever the rows.
  Foreign keys that form a cycle (no order deletes children first) are broken first:
  nullable ones set to NULL, deferrable ones deferred to the end of the cleanup.
* ``truncate``: one ``TRUNCATE ... RESTART IDENTITY``.

No savepoints are involved, so the code under test may commit, roll back, open more
sessions or use threads. Sessions the test left idle in a transaction are terminated
(they would hold locks or block the next cleanup) and reported, as are connections it
left open; a busy session that still blocks the cleanup is terminated after 2 s.

The cleaner empties only a database this run created (its mark, see ``guard.py``).
Each cleanup also checks that the run still holds its claim on the database, and that
the test changed nothing but rows (``isolation.py``): if it did, nothing is emptied and
the report names the changes, for the plugin to rebuild the database.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ForeignKeyConstraint, MetaData, Table, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.schema import sort_tables_and_constraints

from pytest_flask_pgdb.databases.guard import require_own_connection
from pytest_flask_pgdb.reset.isolation import (
    CATALOG_CHECK,
    COUNTED_CHECK,
    DDL_COUNTER_SETUP,
    OUTSIDE,
    describe_changes,
    take_listing,
)
from pytest_flask_pgdb.settings import CLEANUP_STRATEGIES

LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of a lock_timeout
LOCK_TIMEOUT = "2s"  # a cleanup waiting longer than this is blocked by a leaked session
# DELETE leaves dead rows that every later DELETE scans again; autovacuum may lag (and
# is off in private clusters). Vacuuming every so many cleanups keeps cleanup flat:
# measured 0.97 ms -> 1.63 ms over 2000 chain tests without, ~0.9 ms throughout with.
VACUUM_EVERY = 100
EXIT_GRACE_SECONDS = 0.5

# The whole cleanup is one plpgsql function in pg_temp: private to the cleaner's
# session (invisible to the code under test, gone when the session ends), with its
# plans cached, called in one round trip. It ends sessions the test left idle in a
# transaction (they would hold locks or block the next cleanup), empties the tables,
# and returns who leaked and whether the run's claim (an advisory lock held by its
# administrative session) is still there.
_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.pgdb_clean_{strategy}(expected text)
RETURNS json LANGUAGE plpgsql AS $clean$
DECLARE
    leaked text[] := '{{}}';
    others int[] := '{{}}';
    session record;
    catalog text;
    prepared text[];
BEGIN
    FOR session IN
        SELECT pid, state, query FROM pg_stat_get_activity(NULL)
        WHERE datid = {database_oid} AND pid <> pg_backend_pid()
    LOOP
        IF session.state LIKE 'idle in transaction%' THEN
            PERFORM pg_terminate_backend(session.pid, 1000);
            leaked := leaked || format('pid %s (%s, last query: %L)',
                                       session.pid, session.state, left(session.query, 200));
        ELSE
            others := others || session.pid;
        END IF;
    END LOOP;
    -- Two-phase transactions a test prepared outlive its sessions and keep their locks:
    -- the caller rolls them back (not possible in here) and calls again.
    prepared := ARRAY(SELECT gid FROM pg_prepared_xacts WHERE database = current_database());
    IF cardinality(prepared) > 0 THEN
        RETURN json_build_object('leaked', leaked, 'others', others, 'claim', {claim_check},
                                 'catalog', expected, 'cleaned', false, 'prepared', prepared);
    END IF;
    catalog := {catalog_check};
    IF catalog IS DISTINCT FROM expected THEN  -- more than rows changed: empty nothing
        RETURN json_build_object('leaked', leaked, 'others', others, 'claim', {claim_check},
                                 'catalog', catalog, 'cleaned', false);
    END IF;
    {statements}
    RETURN json_build_object('leaked', leaked, 'others', others, 'claim', {claim_check},
                             'catalog', {catalog_after}, 'cleaned', true);
END
$clean$;
"""
# How many times the cleanup is run again when the catalog moved for what is not the
# test's (before it gives up and the database is rebuilt).
REBASES = 5
# Under xdist a change outside the database may have been the test's beside this one.
BESIDE = " (by this test, or one running beside it)"


@dataclass
class CleanupReport:
    """What the test left behind.

    ``leaked``: sessions idle in a transaction (already terminated); ``opened``: pids of
    other sessions still connected that were not there after the previous cleanup and
    are not expected (e.g. not the app's own pool).
    """

    leaked: list[str] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)
    claim_lost: bool = False
    schema_changes: list[str] = field(default_factory=list)  # tables were NOT emptied
    prepared: list[str] = field(default_factory=list)  # gids of two-phase transactions rolled back
    outside: list[str] = field(default_factory=list)  # changes outside the database, named


class DatabaseCleaner:
    """Owns one autocommit connection to a test database and empties it on demand.

    ``run`` is the run that created the database (the cleaner refuses any other);
    ``claim_pid`` the backend holding the run's claim on it (None: not checked);
    ``count_ddl``: detect schema changes with an event trigger that counts DDL (needs a
    superuser; None: whenever the user is one) instead of the full catalog check.
    """

    def __init__(
        self,
        connection: Connection,
        metadata: MetaData,
        strategy: str,
        *,
        run: str,
        claim_pid: int | None = None,
        count_ddl: bool | None = None,
    ) -> None:
        if strategy not in CLEANUP_STRATEGIES:
            raise ValueError(
                f"cleanup strategy must be one of {CLEANUP_STRATEGIES}, got {strategy!r}"
            )
        self.metadata = metadata
        self.strategy = strategy
        self.run = run
        self.claim_pid = claim_pid
        self._count_ddl = count_ddl
        # Sessions that may stay connected between tests (the app's pool registers its
        # connections here); anything else new after a test is reported as opened.
        self.expected_pids: set[int] = set()
        self._cleanups = 0
        self.attach(connection)

    def attach(self, connection: Connection) -> None:
        """Work on ``connection`` from now on (again after the database was rebuilt).

        Records what the schema is now: the baseline later tests are compared with.
        """
        require_own_connection(connection, self.run, "clean")
        self.connection = connection
        self._known_pids: set[int] | None = None
        count_ddl = self._count_ddl
        if count_ddl is None:
            count_ddl = bool(
                connection.scalar(
                    text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                )
            )
        if count_ddl:
            connection.exec_driver_sql(DDL_COUNTER_SETUP)
        check = COUNTED_CHECK if count_ddl else CATALOG_CHECK
        self.detection = "DDL event trigger" if count_ddl else "catalog check"
        ordered, cycle_keys = deletion_order(self.metadata)
        tables = [t.name for t in ordered]
        self._vacuum = "VACUUM " + ", ".join(_quote(connection, t) for t in tables)
        statements = (
            _truncate_sql(connection, tables)
            if self.strategy == "truncate"
            else _break_cycles_sql(connection, cycle_keys) + _delete_sql(connection, tables)
        )
        database_oid = connection.scalar(
            text("SELECT oid FROM pg_database WHERE datname = current_database()")
        )
        # The claim is a session-level lock that its session never releases: it is held
        # exactly while that session lives. Asking for one backend is cheap; pg_locks
        # would snapshot every backend's lock table in every cleanup (~0.09 ms).
        claim_check = (
            "true"
            if self.claim_pid is None
            else f"EXISTS (SELECT 1 FROM pg_stat_get_activity({int(self.claim_pid)}))"
        )
        function = _FUNCTION.format(
            strategy=self.strategy,
            database_oid=database_oid,
            statements=statements,
            claim_check=claim_check,
            catalog_check=check,
            # TRUNCATE gives tables new files (a pg_class update): read the check again.
            catalog_after=check if self.strategy == "truncate" else "catalog",
        )
        # Named per strategy: two cleaners on one connection must not replace each other.
        self._call = f"SELECT pg_temp.pgdb_clean_{self.strategy}(%(expected)s)"
        connection.exec_driver_sql(function.replace("%", "%%"))  # the driver formats %s
        connection.exec_driver_sql(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        self.listing = take_listing(connection)
        self._catalog = connection.scalar(text(f"SELECT {check}"))

    def clean(self) -> CleanupReport:
        """Empty every table; end the sessions the test leaked and report them.

        If the test changed more than rows, nothing is emptied and the report lists the
        changes (``schema_changes``): the database must be rebuilt.
        """
        result = self._run_function()
        rolled_back = result["rolled_back"]
        changes: list[str] = []
        outside: list[str] = []
        for _ in range(REBASES):
            if result["cleaned"]:
                break
            after = take_listing(self.connection)
            outside += self._outside_changed(after)
            changes = describe_changes(self.listing, after)
            if changes:
                break
            # Only what is not the test's came or went (other sessions' temporary objects,
            # the server's databases): the check as it is now is the one to expect.
            self._catalog = result["catalog"]
            first, result = result, self._run_function()
            result["leaked"] = [*first["leaked"], *result["leaked"]]  # ended in either
            rolled_back += result["rolled_back"]
        else:
            if not result["cleaned"]:  # it kept moving: a new database is the state wanted
                changes = [f"the catalog kept changing under {REBASES} cleanups"]
        if result["cleaned"]:
            self._catalog = result["catalog"]
            self._cleanups += 1
            if self.strategy == "delete" and self._cleanups % VACUUM_EVERY == 0:
                self._vacuum_tables()
        others = set(result["others"])
        known = others if self._known_pids is None else self._known_pids
        opened = self._still_connected(others - known - self.expected_pids)
        self._known_pids = others
        return CleanupReport(
            leaked=result["leaked"],
            opened=opened,
            claim_lost=not result["claim"],
            schema_changes=changes,
            prepared=rolled_back,
            outside=outside,
        )

    def _outside_changed(self, after: dict[str, str]) -> list[str]:
        """What changed outside the database (``isolation.OUTSIDE``), one line each; taken
        as the new normal, so that it is named once per process.

        None of it is the test database's: a rebuild keeps it, later connections and runs
        meet it, and it is not ours to undo (it may be anyone's: under xdist, the test
        beside this one may have made it; on a shared server, someone else).
        """
        found = []
        for key in sorted(self.listing.keys() | after.keys()):
            if not key.startswith(OUTSIDE) or self.listing.get(key) == after.get(key):
                continue
            kind, name = key.split(" ", 1)
            if kind == "setting":
                found.append(
                    f"the settings of {name} in every database changed{BESIDE}: now "
                    f"{after.get(key) or 'none'}, were {self.listing.get(key) or 'none'}. Not "
                    "undone (they are the role's): later connections and runs get them "
                    f"(ALTER ROLE {name.removeprefix('role ')} RESET … puts them back)"
                )
            else:
                what = kind.removeprefix("server-")
                verb = "created" if key in after else "dropped"
                found.append(
                    f"{what} {name!r} {verb} on the server{BESIDE} (not the tests': left as is)"
                )
            if key in after:
                self.listing[key] = after[key]
            else:
                del self.listing[key]
        return found

    def _run_function(self) -> dict[str, Any]:
        """The cleanup function's result, after rolling back the prepared transactions of
        this database it reports (they are the tests': named as leaked)."""
        result = self._call_function()
        prepared = list(result.get("prepared") or [])
        if prepared:
            for gid in prepared:
                self.connection.exec_driver_sql("ROLLBACK PREPARED %s", (gid,))
            first, result = result, self._call_function()
            result["leaked"] = [*first["leaked"], *result["leaked"]]  # ended in either call
        result["rolled_back"] = prepared
        return result

    def _call_function(self) -> dict[str, Any]:
        result: dict[str, Any]
        try:
            result = self.connection.exec_driver_sql(
                self._call, {"expected": self._catalog}
            ).scalar_one()
            return result
        except OperationalError as exc:
            if not _is_lock_timeout(exc):
                raise
            # Still blocked: a session is busy (e.g. a thread mid-query). End them all.
            ended = self.terminate_other_sessions()
            result = self.connection.exec_driver_sql(
                self._call, {"expected": self._catalog}
            ).scalar_one()
            result["leaked"].append(f"{ended} busy session(s) blocking the cleanup")
            return result

    def _still_connected(self, pids: set[int]) -> list[int]:
        """The pids still connected after backends that are merely exiting are gone.

        A connection the test closed can be listed for a moment while its backend exits;
        only one that stays is a leak. Costs time only when something looks leaked.
        """
        deadline = time.monotonic() + EXIT_GRACE_SECONDS
        while pids and time.monotonic() < deadline:
            time.sleep(0.02)
            pids = set(
                self.connection.execute(
                    text("SELECT pid FROM pg_stat_get_activity(NULL) WHERE pid = ANY(:pids)"),
                    {"pids": sorted(pids)},
                ).scalars()
            )
        return sorted(pids)

    def _vacuum_tables(self) -> None:
        try:
            self.connection.exec_driver_sql(self._vacuum)
        except OperationalError as exc:  # a leaked lock: skip, the next round will do
            if not _is_lock_timeout(exc):
                raise

    def reconnect(self) -> None:
        """A new connection (the old one ended, or the database was rebuilt)."""
        engine = self.connection.engine
        with contextlib.suppress(SQLAlchemyError):
            self.connection.close()
        self.attach(engine.connect())

    def terminate(self, pids: list[int]) -> None:
        """End these sessions (of threads fenced off the database); wait up to 1 s each."""
        self.connection.execute(
            text("SELECT pg_terminate_backend(pid, 1000) FROM unnest(CAST(:pids AS int[])) pid"),
            {"pids": pids},
        )

    def terminate_other_sessions(self) -> int:
        """End every other session on this database; wait up to 1 s for each."""
        return len(
            self.connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid, 1000) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).all()
        )


def _is_lock_timeout(exc: OperationalError) -> bool:
    return getattr(exc.orig, "pgcode", None) == LOCK_NOT_AVAILABLE


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def deletion_order(metadata: MetaData) -> tuple[list[Table], list[ForeignKeyConstraint]]:
    """The tables children first, and the foreign keys no order can satisfy (cycles).

    ``sorted_tables`` only warns on a cycle and then orders those tables arbitrarily.
    """
    pairs = sort_tables_and_constraints(metadata.tables.values())
    tables = [table for table, _ in pairs if table is not None]
    cycle_keys = [key for table, keys in pairs if table is None for key in keys]
    return list(reversed(tables)), cycle_keys


def _break_cycles_sql(connection: Connection, keys: Sequence[ForeignKeyConstraint]) -> str:
    """Statements that let the DELETEs run despite foreign keys in a cycle.

    A deferrable key waits for the end of the cleanup (SET CONSTRAINTS); a nullable one
    is set to NULL where set. A key that is neither cannot hold rows in a cycle.
    """
    statements = []
    if any(key.deferrable for key in keys):
        statements.append("SET CONSTRAINTS ALL DEFERRED;")
    for key in keys:
        if key.deferrable or not all(column.nullable for column in key.columns):
            continue
        table = _quote(connection, key.table.name)
        columns = [_quote(connection, column.name) for column in key.columns]
        assignments = ", ".join(f"{column} = NULL" for column in columns)
        where = " OR ".join(f"{column} IS NOT NULL" for column in columns)
        statements.append(f"UPDATE {table} SET {assignments} WHERE {where};")
    return "".join(statements)


def _truncate_sql(connection: Connection, tables: Sequence[str]) -> str:
    names = ", ".join(_quote(connection, t) for t in tables)
    return f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE;"


def owned_sequences(connection: Connection, tables: Sequence[str]) -> list[str]:
    """Sequences owned by the tables' columns (serial and identity), as regclass text."""
    return list(
        connection.execute(
            text(
                "SELECT seq.oid::regclass::text FROM pg_class seq "
                "JOIN pg_depend dep ON dep.objid = seq.oid AND dep.classid = 'pg_class'::regclass "
                "JOIN pg_class tbl ON tbl.oid = dep.refobjid "
                "JOIN pg_namespace ns ON ns.oid = tbl.relnamespace "
                "WHERE seq.relkind = 'S' AND dep.deptype IN ('a', 'i') "
                "AND ns.nspname = current_schema() AND tbl.relname = ANY(:tables) "
                "ORDER BY 1"
            ),
            {"tables": list(tables)},
        )
        .scalars()
        .all()
    )


def _delete_sql(connection: Connection, tables: Sequence[str]) -> str:
    deletes = "".join(f"DELETE FROM {_quote(connection, t)};" for t in tables)
    sequences = owned_sequences(connection, tables)
    if not sequences:
        return deletes
    oids = ", ".join(f"'{s}'::regclass" for s in sequences)
    # pg_sequence_last_value() is NULL until nextval() ran since the last reset, so
    # only sequences that moved are written.
    reset = (
        "PERFORM setval(seqrelid, seqstart, false) FROM pg_sequence "
        f"WHERE seqrelid IN ({oids}) AND pg_sequence_last_value(seqrelid) IS NOT NULL;"
    )
    return deletes + reset


def leftovers(connection: Connection, metadata: MetaData) -> dict[str, str]:
    """What differs from the TRUNCATE state: ``{table: "3 rows"}`` or ``{seq: "at 7"}``.

    Empty when every table is empty and every owned sequence would hand out its start
    value next.
    """
    tables = [t.name for t in deletion_order(metadata)[0]]
    found: dict[str, str] = {}
    for table in tables:
        rows = connection.exec_driver_sql(f"SELECT count(*) FROM {_quote(connection, table)}")
        number = rows.scalar()
        if number:
            found[table] = f"{number} rows"
    for sequence in owned_sequences(connection, tables):
        last = connection.scalar(
            text("SELECT pg_sequence_last_value(CAST(:s AS regclass))"), {"s": sequence}
        )
        if last is not None:
            found[sequence] = f"at {last}"
    return found
