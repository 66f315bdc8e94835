"""The app's connection pool, watched between tests.

* **Fence**: threads a test started that still run after it returned are fenced off
  the app's engine (their next checkout raises) and the sessions they hold are ended,
  so they cannot write into the next test; the warning names the test that started
  them.
* **Session state**: connections that went back to the pool during a test are checked
  for what a test can leave on a session that stays open (``SET``, prepared statements,
  advisory locks, temporary tables, ``LISTEN``); a dirty one is discarded and named.
  The check runs on a helper thread of the watch's own, side by side with the cleanup
  (another connection): on a realistic schema each costs about half of the reset.
"""

from __future__ import annotations

import threading
import time
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import ConnectionPoolEntry

from pytest_flask_pgdb.reset.isolation import SESSION_STATE

GRACE_SECONDS = 1.0  # how long threads of a finished test get to finish by themselves


class FencedThreadError(RuntimeError):
    """A thread of a finished test reached for the database."""


class PoolWatch:
    """Listens to ``engine``'s pool; ``on_connect(pid)`` hears of every new connection."""

    def __init__(self, engine: Engine, on_connect: Any) -> None:
        # Thread objects, not idents: an ident is reused once its thread has ended.
        self.fenced: weakref.WeakKeyDictionary[threading.Thread, str] = (
            weakref.WeakKeyDictionary()
        )  # thread -> the test that started it
        self._out: dict[ConnectionPoolEntry, threading.Thread] = {}  # checked out -> by whom
        self._returned: set[ConnectionPoolEntry] = set()
        # A checkout checks the fence and registers itself in one step: a thread that
        # passed the check before the fence went up is then surely among the ended.
        self._lock = threading.Lock()
        event.listen(engine, "connect", self._connect)
        event.listen(engine, "checkout", self._checkout)
        event.listen(engine, "checkin", self._checkin)
        self._on_connect = on_connect
        self._checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pgdb-pool-check")
        self._checker.submit(int).result()  # its thread exists before any test starts one

    def close(self) -> None:
        """Stop the helper thread (the watch is done)."""
        self._checker.shutdown(wait=True)

    def _connect(self, dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        pid = dbapi_connection.get_backend_pid()
        record.info["pid"] = pid
        thread = threading.current_thread()
        # A connection being made counts as held by its thread, so a fence that goes up
        # meanwhile ends it too; a fenced thread's new connection runs no query at all
        # (its checkout, next, refuses it).
        with self._lock:
            fenced = thread in self.fenced
            if not fenced:
                self._out[record] = thread
        self._on_connect(pid)
        if fenced:
            record.info["baseline"] = []
            return
        try:
            record.info["baseline"] = _session_state(dbapi_connection)
        except BaseException:
            with self._lock:
                self._out.pop(record, None)
            raise

    def _checkout(self, _dbapi: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        thread = threading.current_thread()
        with self._lock:
            started_by = self.fenced.get(thread)
            if started_by is None:
                self._out[record] = thread
                return
        raise FencedThreadError(
            f"thread {thread.name!r} was started by {started_by}, which has ended: it "
            "may not use the database any more"
        )

    def _checkin(self, _dbapi: Any, record: ConnectionPoolEntry) -> None:
        with self._lock:
            self._out.pop(record, None)
            self._returned.add(record)

    def fence(self, threads: list[threading.Thread], nodeid: str) -> tuple[list[str], list[int]]:
        """Wait a little for ``threads``; fence those still running.

        Returns their names and the backend pids of the connections they hold.
        """
        deadline = time.monotonic() + GRACE_SECONDS
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        running = [t for t in threads if t.is_alive()]
        with self._lock:
            for thread in running:
                self.fenced[thread] = nodeid
            pids = [r.info["pid"] for r, thread in self._out.items() if thread in running]
        return [t.name for t in running], pids

    def dirty_sessions_meanwhile(self) -> Future[list[str]]:
        """:meth:`dirty_sessions` on the helper thread; ``.result()`` before the next test."""
        return self._checker.submit(self.dirty_sessions)

    def dirty_sessions(self) -> list[str]:
        """Session state left on connections returned during the test; those are discarded."""
        found = []
        with self._lock:
            returned, self._returned = self._returned, set()
        for record in returned:
            dbapi_connection = record.dbapi_connection
            if dbapi_connection is None or record in self._out:
                continue
            try:
                left = sorted(set(_session_state(dbapi_connection)) - set(record.info["baseline"]))
            except Exception:
                record.invalidate()  # dead (e.g. a fenced thread's, ended), not dirty
                continue
            if left:
                found.extend(left)
                record.invalidate()
        return found


def _session_state(dbapi_connection: Any) -> list[str]:
    """The session's state, in one round trip.

    Only idle connections are checked (fresh, or returned and rolled back by the pool):
    in autocommit the driver sends neither BEGIN nor ROLLBACK around the query (a third
    of the check's cost on this schema's reset). Drivers without the switch roll back.
    """
    autocommit = getattr(dbapi_connection, "autocommit", None)
    if autocommit is False:
        dbapi_connection.autocommit = True
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(SESSION_STATE)
            rows = [row[0] for row in cursor.fetchall()]
    finally:
        if autocommit is False:
            dbapi_connection.autocommit = False
        elif autocommit is None:
            dbapi_connection.rollback()
    return rows
