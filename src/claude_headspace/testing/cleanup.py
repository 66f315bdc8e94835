"""Empty the test database between tests: the state ``TRUNCATE ... RESTART IDENTITY`` gives.

Two strategies reach the same end state — every application table empty, every
sequence the tables own back at its start value, nothing else touched:

* ``delete`` (default): ``DELETE FROM`` each table, children first, then ``setval`` on
  only the sequences that moved — one round trip. Deleting a handful of rows is far
  cheaper than truncating: TRUNCATE's cost is per relation file, whatever the rows.
* ``truncate``: one ``TRUNCATE ... RESTART IDENTITY``.

No savepoints are involved, so the code under test may commit, roll back, open more
sessions or use threads. Sessions the test left idle in a transaction are terminated
(they would hold locks or block the next cleanup) and reported, as are connections it
left open; a busy session that still blocks the cleanup is terminated after 2 s.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from .names import require_test_connection
from .settings import CLEANUP_STRATEGIES as STRATEGIES

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
# and returns who leaked.
_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.claude_headspace_clean_{strategy}() RETURNS json
LANGUAGE plpgsql AS $clean$
DECLARE
    leaked text[] := '{{}}';
    others int[] := '{{}}';
    session record;
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
    {statements}
    RETURN json_build_object('leaked', leaked, 'others', others);
END
$clean$;
"""


@dataclass
class CleanupReport:
    """What the test left behind.

    ``leaked``: sessions idle in a transaction (already terminated); ``opened``: pids of
    other sessions still connected that were not there after the previous cleanup and
    are not expected (e.g. not the app's own pool).
    """

    leaked: list[str] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)


class DatabaseCleaner:
    """Owns one autocommit connection to a test database and empties it on demand."""

    def __init__(self, connection: Connection, metadata: MetaData, strategy: str) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"cleanup strategy must be one of {STRATEGIES}, got {strategy!r}")
        require_test_connection(connection, "clean")
        self.connection = connection
        self.strategy = strategy
        # Sessions that may stay connected between tests (the app's pool registers its
        # connections here); anything else new after a test is reported as opened.
        self.expected_pids: set[int] = set()
        self._known_pids: set[int] | None = None
        self._cleanups = 0
        tables = [t.name for t in reversed(metadata.sorted_tables)]  # children first
        self._vacuum = "VACUUM " + ", ".join(_quote(connection, t) for t in tables)
        build = _truncate_sql if strategy == "truncate" else _delete_sql
        database_oid = connection.scalar(
            text("SELECT oid FROM pg_database WHERE datname = current_database()")
        )
        function = _FUNCTION.format(
            strategy=strategy, database_oid=database_oid, statements=build(connection, tables)
        )
        # Named per strategy: two cleaners on one connection must not replace each other.
        self._call = f"SELECT pg_temp.claude_headspace_clean_{strategy}()"
        connection.exec_driver_sql(function.replace("%", "%%"))  # the driver formats %s
        connection.exec_driver_sql(f"SET lock_timeout = '{LOCK_TIMEOUT}'")

    def clean(self) -> CleanupReport:
        """Empty every table; end the sessions the test leaked and report them."""
        try:
            result = self.connection.exec_driver_sql(self._call).scalar()
        except OperationalError as exc:
            if not _is_lock_timeout(exc):
                raise
            # Still blocked: a session is busy (e.g. a thread mid-query). End them all.
            ended = self.terminate_other_sessions()
            result = self.connection.exec_driver_sql(self._call).scalar()
            result["leaked"].append(f"{ended} busy session(s) blocking the cleanup")
        self._cleanups += 1
        if self.strategy == "delete" and self._cleanups % VACUUM_EVERY == 0:
            self._vacuum_tables()
        others = set(result["others"])
        known = others if self._known_pids is None else self._known_pids
        opened = self._still_connected(others - known - self.expected_pids)
        self._known_pids = others
        return CleanupReport(leaked=result["leaked"], opened=opened)

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


def _truncate_sql(connection: Connection, tables: Sequence[str]) -> str:
    names = ", ".join(_quote(connection, t) for t in tables)
    return f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE;"


def owned_sequences(connection: Connection, tables: Sequence[str]) -> list[str]:
    """Sequences owned by the tables' columns (serial and identity), as regclass text."""
    return (
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
    tables = [t.name for t in metadata.sorted_tables]
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
