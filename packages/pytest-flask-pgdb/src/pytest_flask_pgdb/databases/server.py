"""Which PostgreSQL server the tests use: the configured one, or a private cluster.

``TestSettings.server_mode`` (``TEST_DATABASE_SERVER``) chooses:

* ``auto`` (default): the configured server when it answers; when nothing answers at
  that address and ``TEST_DATABASE_URL`` is not set, a private throwaway cluster;
* ``configured``: only the configured server;
* ``private``: always a private cluster.

A server that answers but refuses us (wrong password, unknown user) is an error, not a
reason to fall back: the user meant that server.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from pytest_flask_pgdb.databases import cluster, session_defaults
from pytest_flask_pgdb.databases.connections import (
    admin_connection,
    describe_error,
    is_not_accepting_now,
    is_server_gone,
)
from pytest_flask_pgdb.errors import ServerUnavailableError
from pytest_flask_pgdb.settings import SERVER_SETTING, TEST_DATABASE_URL, TestSettings
from pytest_flask_pgdb.urls import address_of, mask_url

PROBE_TIMEOUT_SECONDS = 3
# A server that says it is starting up (or in recovery, e.g. after a restart) is waited
# for this long, as pg_isready users would: a restart takes a moment.
STARTING_UP_WAIT_SECONDS = 10
MAINTENANCE_DATABASE = "postgres"
TOO_MANY_CLIENTS = ("too many clients", "remaining connection slots are reserved")


@dataclass(frozen=True)
class Server:
    """Where test databases live. ``url(name)`` addresses one database on it."""

    base: URL
    private_cluster: cluster.PrivateCluster | None = None
    why_private: str = ""  # what made the run use a private cluster

    def url(self, database: str) -> URL:
        if self.private_cluster is not None:
            return self.private_cluster.url(database)
        return self.base.set(database=database)

    @property
    def maintenance_url(self) -> URL:
        return self.url(MAINTENANCE_DATABASE)

    def describe(self) -> str:
        if self.private_cluster is not None:
            return f"the private cluster in {self.private_cluster.directory}"
        return address_of(self.base)

    def summary(self) -> str:
        """For the run's closing line: which server, and why a private cluster."""
        if self.private_cluster is not None:
            return f"a private cluster ({self.why_private}) in {self.private_cluster.directory}"
        return f"the configured server {address_of(self.base)}"

    def release(self) -> None:
        if self.private_cluster is not None:
            cluster.release(self.private_cluster)


def is_too_many_clients(exc: BaseException) -> bool:
    message = str(getattr(exc, "orig", None) or exc)
    return any(phrase in message for phrase in TOO_MANY_CLIENTS)


def too_many_clients_message(where: str, workers: int) -> str:
    run = f"-n {workers}" if workers else "a serial run"
    return (
        f"the PostgreSQL server at {where} has no free connection slots (too many clients): "
        f"{run} needs about {max(workers, 1) * CONNECTIONS_PER_WORKER} connections "
        f"({CONNECTIONS_PER_WORKER} per worker). Run with fewer workers (-n), or raise the "
        "server's max_connections, or end other clients."
    )


# A worker's steady connections: the namespace and lock holders, the cleaner, the app's
# pool (one in use).
CONNECTIONS_PER_WORKER = 4


def connect_server(settings: TestSettings, run: str) -> Server:
    """Find a server for the test database or raise with what was tried."""
    base = settings.test_url
    if settings.server_mode == "private":
        chosen = f"{SERVER_SETTING}=private"
        return _private_server(settings, run, tried=[chosen], why=chosen)
    answered, problem, logged_in = _probe(base, settings.workers)
    if answered and problem is None:
        return Server(base)
    where = address_of(base)
    in_force = session_defaults.from_environment(os.environ)
    if answered and (logged_in or in_force):
        # Not the password's fault: something after (or in) the login, most likely a
        # connection setting (PGOPTIONS: a statement timeout, a bad option).
        raise ServerUnavailableError(
            f"the PostgreSQL server at {where} answered, but the test connection as user "
            f"{base.username!r} failed: {problem}.{session_defaults.as_cause(in_force)}"
        )
    if answered:
        raise ServerUnavailableError(
            f"the PostgreSQL server at {where} answered but refused the test connection as "
            f"user {base.username!r}: {problem}. Fix the user/password in {_source(settings)} "
            f"(e.g. {TEST_DATABASE_URL}=postgresql://user:password@host:5432/{base.database})."
        )
    tried = [f"the configured server at {where} ({mask_url(base)}): {problem}"]
    if settings.server_mode == "configured" or settings.explicit_test_url:
        raise ServerUnavailableError(
            f"no PostgreSQL server answers: tried {tried[0]}. Start that server, or unset "
            f"{TEST_DATABASE_URL} and {SERVER_SETTING} so the tests may start a private "
            "cluster from the PostgreSQL binaries."
        )
    return _private_server(settings, run, tried, why=f"nothing answers at {where}")


def _source(settings: TestSettings) -> str:
    """Which settings give the test server's address, for advice."""
    return settings.server_source or TEST_DATABASE_URL


def _private_server(settings: TestSettings, run: str, tried: list[str], why: str) -> Server:
    bindir, looked = cluster.find_binaries(settings.pg_bindir)
    if bindir is None:
        raise ServerUnavailableError(
            "no PostgreSQL server for the tests. Tried: "
            + "; ".join(
                [
                    *tried,
                    f"PostgreSQL binaries for a private cluster in {', '.join(looked)}: none found",
                ]
            )
            + f". Either start a server and point {_source(settings)} at it, "
            "or install the PostgreSQL server binaries (initdb, pg_ctl, postgres)."
        )
    return Server(settings.test_url, cluster.acquire(bindir, run), why)


def _probe(base: URL, workers: int) -> tuple[bool, str | None, bool]:
    """``(answered, problem, logged_in)``: did anything listen at the address, could we
    log in, and did the failure (if any) come after the login (a statement failed)."""
    reachable, reason = _reachable(base)
    if not reachable:
        return False, reason, False
    deadline = time.monotonic() + STARTING_UP_WAIT_SECONDS
    while True:
        try:
            with admin_connection(base.set(database=MAINTENANCE_DATABASE)) as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            if is_too_many_clients(exc):
                raise ServerUnavailableError(
                    too_many_clients_message(address_of(base), workers)
                ) from None
            code = getattr(getattr(exc, "orig", None), "pgcode", None)
            not_now = is_not_accepting_now(exc)
            if not_now and time.monotonic() < deadline:
                time.sleep(0.1)  # no event says the server is ready: ask again
                continue
            if not_now:
                raise ServerUnavailableError(
                    f"the PostgreSQL server at {address_of(base)} did not accept connections "
                    f"for {STARTING_UP_WAIT_SECONDS} s ({describe_error(exc)}): it is starting "
                    "up, shutting down or recovering. Wait for it and run again."
                ) from None
            if code is None and is_server_gone(exc):  # gone since it answered (a restart)
                return False, describe_error(exc), False
            return True, describe_error(exc), code is not None
        return True, None, False


def _reachable(base: URL) -> tuple[bool, str]:
    host = str(base.query.get("host") or base.host or "localhost")
    port = int(str(base.query.get("port") or base.port or 5432))  # validated by settings
    targets: list[tuple[int, Any]]
    if host.startswith("/"):
        targets = [(socket.AF_UNIX, str(Path(host) / f".s.PGSQL.{port}"))]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            return False, f"cannot resolve host {host!r} ({exc.strerror or exc})"
        targets = [(info[0], info[4]) for info in infos]
    reason = ""
    for family, address in targets:  # localhost may be ::1 and 127.0.0.1: any will do
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(PROBE_TIMEOUT_SECONDS)
            try:
                sock.connect(address)
            except TimeoutError:
                reason = f"no answer within {PROBE_TIMEOUT_SECONDS} s"
            except OSError as exc:
                reason = exc.strerror or str(exc)
            else:
                return True, ""
    return False, reason
