"""Which PostgreSQL server the tests use: the configured one, or a private cluster.

``TEST_DATABASE_SERVER`` chooses:

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
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from ..config import mask_url
from ..database import describe_error
from . import cluster as private
from .errors import ServerUnavailableError
from .settings import SERVER_MODES as MODES
from .settings import SERVER_SETTING, TEST_DATABASE_URL

PROBE_TIMEOUT_SECONDS = 3
MAINTENANCE_DATABASE = "postgres"


@dataclass(frozen=True)
class Server:
    """Where test databases live. ``url(name)`` addresses one database on it."""

    base: URL
    cluster: private.PrivateCluster | None = None

    def url(self, database: str) -> URL:
        if self.cluster is not None:
            return self.cluster.url(database)
        return self.base.set(database=database)

    @property
    def maintenance_url(self) -> URL:
        return self.url(MAINTENANCE_DATABASE)

    def describe(self) -> str:
        if self.cluster is not None:
            return f"private cluster in {self.cluster.directory}"
        return f"{self.base.host}:{self.base.port or 5432}"

    def release(self) -> None:
        if self.cluster is not None:
            private.release(self.cluster)


def server_mode() -> str:
    mode = os.environ.get(SERVER_SETTING, "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise ServerUnavailableError(
            f"{SERVER_SETTING}={mode!r} is not one of {', '.join(MODES)}; unset it for the "
            "default (auto: the configured server, else a private cluster)."
        )
    return mode


def connect_server(base: URL) -> Server:
    """Find a server for the test database ``base`` or raise with what was tried."""
    mode = server_mode()
    if mode == "private":
        return _private_server(base, tried=[f"{SERVER_SETTING}=private"])
    answered, problem = _probe(base)
    if answered and problem is None:
        return Server(base)
    where = f"{base.host}:{base.port or 5432}"
    if answered:
        raise ServerUnavailableError(
            f"the PostgreSQL server at {where} answered but refused the test connection as "
            f"user {base.username!r}: {problem}. Fix the user/password in config.yaml or "
            f"DATABASE_USER/DATABASE_PASSWORD, or set {TEST_DATABASE_URL} "
            "(e.g. postgresql://user:password@host:5432/claude_headspace_test)."
        )
    tried = [f"the configured server at {where} ({mask_url(base)}): {problem}"]
    if mode == "configured" or os.environ.get(TEST_DATABASE_URL, "").strip():
        raise ServerUnavailableError(
            f"no PostgreSQL server answers: tried {tried[0]}. Start that server, or unset "
            f"{TEST_DATABASE_URL} and {SERVER_SETTING} so the tests may start a private "
            "cluster from the PostgreSQL binaries."
        )
    return _private_server(base, tried)


def _private_server(base: URL, tried: list[str]) -> Server:
    bindir, looked = private.find_binaries()
    if bindir is None:
        raise ServerUnavailableError(
            "no PostgreSQL server for the tests. Tried: "
            + "; ".join(
                [
                    *tried,
                    f"PostgreSQL binaries for a private cluster in {', '.join(looked)}: none found",
                ]
            )
            + f". Either start a server and point config.yaml or {TEST_DATABASE_URL} at it, "
            "or install the PostgreSQL server binaries (initdb, pg_ctl, postgres)."
        )
    cluster = private.acquire(bindir)
    return Server(base, cluster)


def _probe(base: URL) -> tuple[bool, str | None]:
    """``(answered, problem)``: did anything listen at the address, and could we log in."""
    reachable, reason = _reachable(base)
    if not reachable:
        return False, reason
    engine = create_engine(
        base.set(database=MAINTENANCE_DATABASE),
        poolclass=NullPool,
        connect_args={"connect_timeout": PROBE_TIMEOUT_SECONDS},
    )
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return True, describe_error(exc)
    finally:
        engine.dispose()
    return True, None


def _reachable(base: URL) -> tuple[bool, str]:
    host = base.query.get("host") or base.host or "localhost"
    port = int(base.query.get("port") or base.port or 5432)
    if isinstance(host, str) and host.startswith("/"):
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
