"""Runs side by side on one server: each run's names in a namespace of its own.

Runs of one project against one server — git worktrees on a laptop, CI shards sharing a
server — compute the same database names (xdist numbers workers ``gw0``… in every run).
So every run takes a **namespace** first: the first run the plain names
(``shop_test_gw0``), a run that finds them taken the first free one of ``n2``, ``n3``, …
— one more component in every name it creates (``shop_n2_test_gw0``). An explicit
namespace (``TEST_DATABASE_NAMESPACE``, ``--pgdb-namespace``; a CI job's shard number) is
taken as it is.

A namespace belongs to the run whose processes hold it: each process of a run (the
serial process, or every xdist worker) holds a shared advisory lock on it for as long as
it lives, on a connection whose application name carries the run's id. A process joins
the namespace its own run holds, else takes the first nobody holds; the choice is made
under an exclusive lock, so two runs starting at once never pick the same one. The
server releases the locks when a process ends, however it ends.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import SQLAlchemyError

from pytest_flask_pgdb.databases import session_defaults
from pytest_flask_pgdb.databases.connections import (
    admin_engine,
    describe_error,
    is_server_gone,
    server_gone_message,
)
from pytest_flask_pgdb.databases.locks import LOCK_NAMESPACE, try_lock, unlock
from pytest_flask_pgdb.errors import TestDatabaseError

AUTOMATIC = ("", *(f"n{number}" for number in range(2, 33)))
APPLICATION_PREFIX = "pytest_flask_pgdb run "
CHOICE = "the choice of this run's test database names"
_HOLDERS = text(
    "SELECT slot.name, a.application_name "
    "FROM unnest(CAST(:slots AS text[])) AS slot(name) "
    "JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    " AND l.classid = CAST(CAST(:ns AS bigint) AS oid) "
    " AND l.objid = CAST(hashtext(:prefix || slot.name)::bigint & 4294967295 AS oid) "
    "JOIN pg_stat_activity a ON a.pid = l.pid"
)


def application_name(run: str) -> str:
    """The application name of a run's namespace sessions: how runs tell each other apart."""
    return f"{APPLICATION_PREFIX}{run}"[:63]


@dataclass
class NamespaceClaim:
    """This process's place among the runs on a server: its namespace, held until closed."""

    namespace: str
    automatic: bool  # chosen because another run held the plain names
    connection: Connection | None

    def hand_over(self) -> Connection | None:
        """The session holding the namespace, for the process's own database to use as
        its administrative connection (closing it then releases the namespace)."""
        connection, self.connection = self.connection, None
        return connection

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self.connection.close()  # ends the session: the server releases the lock
            self.connection = None


def take(
    maintenance_url: URL,
    *,
    project: str,
    base: str,
    run: str,
    explicit: str = "",
    lock_wait: float,
    where: str,
) -> NamespaceClaim:
    """The namespace this process of ``run`` uses for the names of ``project``'s ``base``."""
    prefix = f"namespace:{project}:{base}:"
    try:
        connection = admin_engine(maintenance_url, application_name(run)).connect()
    except SQLAlchemyError as exc:
        if is_server_gone(exc):
            raise TestDatabaseError(server_gone_message(where, CHOICE, exc)) from None
        raise TestDatabaseError(
            f"could not connect to {where} to choose this run's test database names: "
            f"{describe_error(exc)}.{_cause()}"
        ) from None
    try:
        _pick_exclusively(connection, f"namespace-pick:{project}:{base}", lock_wait, where)
        try:
            namespace = explicit if explicit else _choose(connection, prefix, run, where)
            try_lock(connection, prefix + namespace, shared=True)  # shared never waits here
        finally:
            unlock(connection, f"namespace-pick:{project}:{base}")
    except SQLAlchemyError as exc:
        connection.close()
        if is_server_gone(exc):
            raise TestDatabaseError(server_gone_message(where, CHOICE, exc)) from None
        raise TestDatabaseError(
            f"could not choose this run's test database names on {where}: "
            f"{describe_error(exc)}.{_cause()}"
        ) from None
    except BaseException:
        connection.close()
        raise
    return NamespaceClaim(
        namespace, automatic=bool(namespace) and not explicit, connection=connection
    )


def _cause() -> str:
    return session_defaults.as_cause(session_defaults.from_environment(os.environ))


def _pick_exclusively(connection: Connection, key: str, lock_wait: float, where: str) -> None:
    """Another process choosing right now holds this for milliseconds; wait it out."""
    deadline = time.monotonic() + max(lock_wait, 1.0)
    while not try_lock(connection, key):
        if time.monotonic() >= deadline:
            raise TestDatabaseError(
                f"could not choose this run's test database names on {where}: another "
                f"process has been choosing for over {max(lock_wait, 1.0):g} s "
                "(TEST_DATABASE_LOCK_WAIT). Is a test run stuck? See "
                "SELECT * FROM pg_stat_activity WHERE application_name LIKE 'pytest_flask_pgdb%'."
            )
        time.sleep(0.02)


def _choose(connection: Connection, prefix: str, run: str, where: str) -> str:
    holders: dict[str, set[str]] = {}
    for slot, holder in connection.execute(
        _HOLDERS, {"slots": list(AUTOMATIC), "ns": LOCK_NAMESPACE, "prefix": prefix}
    ):
        holders.setdefault(str(slot), set()).add(str(holder or ""))
    mine = application_name(run)
    for slot in AUTOMATIC:  # the run's own first: its other workers chose already
        if holders.get(slot) == {mine}:
            return slot
    for slot in AUTOMATIC:
        if slot not in holders:
            return slot
    raise TestDatabaseError(
        f"{len(AUTOMATIC)} test runs of this project already run side by side on {where}; "
        "wait for some to finish, or set TEST_DATABASE_NAMESPACE for this one."
    )
