"""Put the database back as the session built it after a test, whatever the test did.

:func:`reset_after_test` is what ``pgdb_clean`` runs after every test, in order:

1. threads the test left running get a second to finish, then are fenced off the app's
   engine and the sessions they hold are ended (``fence.py``);
2. pooled connections the test returned with session state are discarded (checked on
   the watch's helper thread while step 3 runs: they are other connections);
3. the cleaner empties every table (``cleanup.py``); if its session was ended by the
   test, that is told apart from a server outage and it reconnects;
4. if the test changed more than rows, the database is rebuilt and the app's pool
   emptied.

It returns what the test left or changed, one phrase each, and whether the run must
stop (the server went away, or the run's claim was lost).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import MetaData, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from pytest_flask_pgdb.databases.connections import admin_connection, describe_error
from pytest_flask_pgdb.databases.lifecycle import TestDatabase
from pytest_flask_pgdb.reset.cleanup import CleanupReport, DatabaseCleaner
from pytest_flask_pgdb.reset.fence import PoolWatch


@dataclass
class ResetOutcome:
    left: list[str] = field(default_factory=list)  # what the test left or changed
    stop: str | None = None  # why the run cannot go on


def reset_after_test(
    nodeid: str,
    *,
    started_threads: list[threading.Thread],
    watch: PoolWatch,
    engine: Engine,
    cleaner: DatabaseCleaner,
    database: TestDatabase,
    metadata: MetaData,
    changes_schema: bool = False,
) -> ResetOutcome:
    outcome = ResetOutcome()
    running, pids = watch.fence(started_threads, nodeid)
    if running:
        if pids:
            cleaner.terminate(pids)
        outcome.left.append(
            f"{len(running)} thread(s) running: {', '.join(running)} (fenced off the database)"
        )
    checking = watch.dirty_sessions_meanwhile()
    try:
        report = _clean(nodeid, cleaner, database, outcome)
    finally:
        dirty = checking.result()  # the pool is not used again before the check is done
    if dirty:
        outcome.left.insert(
            1 if running else 0,
            f"session state on a pooled connection (discarded): {'; '.join(dirty)}",
        )
    if report is None:
        return outcome
    if report.claim_lost:
        outcome.stop = (
            f"this run lost its claim on test database {database.name!r} during {nodeid}: "
            f"the connection holding it (backend pid {database.claim_pid}) was ended, by "
            "pg_terminate_backend, an administrator or a server timeout. Stopping the run, "
            "since without the claim another run may take the database."
        )
        return outcome
    if report.schema_changes:
        engine.dispose()
        database.rebuild(metadata)
        cleaner.reconnect()
        if not changes_schema:
            outcome.left.append(
                "the database changed beyond its rows (rebuilt): "
                + "; ".join(report.schema_changes)
            )
    outcome.left.extend(report.outside)
    if report.opened:
        outcome.left.append(
            f"{len(report.opened)} database connection(s) open (pids "
            f"{', '.join(map(str, report.opened))}): close or dispose what the test opened"
        )
    if report.prepared:
        outcome.left.append(
            f"{len(report.prepared)} prepared transaction(s) (rolled back): "
            + ", ".join(repr(gid) for gid in report.prepared)
        )
    if report.leaked:
        outcome.left.append(
            f"{len(report.leaked)} database session(s) in a transaction (terminated): "
            f"{'; '.join(report.leaked)}"
        )
    return outcome


def _clean(
    nodeid: str, cleaner: DatabaseCleaner, database: TestDatabase, outcome: ResetOutcome
) -> CleanupReport | None:
    """The cleanup; a test that ended our sessions is not a server outage."""
    try:
        return cleaner.clean()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        problem = describe_error(exc)
    try:
        with admin_connection(database.server.maintenance_url) as connection:
            started = connection.scalar(text("SELECT pg_postmaster_start_time()"))
    except SQLAlchemyError:
        started = None
    if started is None or started != database.server_started:  # down, or restarted
        how = "went away" if started is None else "restarted"
        outcome.stop = (
            f"the PostgreSQL server {how} during {nodeid} ({problem}); stopping the "
            "run. Start the server and run again: the next run removes what this one left."
        )
        return None
    outcome.left.append(
        "the cleaner's database session ended: the test ended other sessions "
        "(pg_terminate_backend?); the server is up, the cleaner reconnected"
    )
    cleaner.reconnect()
    return cleaner.clean()
