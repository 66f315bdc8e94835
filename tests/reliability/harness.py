"""Running the sample suite (and real suites) in subprocesses against our own server.

Every run goes to the reliability cluster: a private PostgreSQL cluster of this test
session that also holds the "developer's" databases whose safety the runs must prove.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL

from claude_headspace.config import CONFIG_ENVIRONMENT
from pytest_flask_pgdb.databases import cluster
from pytest_flask_pgdb.databases.connections import admin_connection
from pytest_flask_pgdb.databases.guard import RUN, Mark, is_test_database_name
from pytest_flask_pgdb.settings import (
    BINDIR_SETTING,
    CLEANUP_SETTING,
    LOCK_WAIT_SETTING,
    SERVER_SETTING,
    TEST_ENVIRONMENT,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = Path(__file__).parent / "sample"
DEVELOPER_DATABASE = "claude_headspace"
OTHER_DATABASE = "other_app"
APP_USER, APP_PASSWORD = "app_user", "S3cret-Reliability-pw"
NO_CREATEDB_USER = "cannot_create"
ROWS_CHECKSUM = "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')"
# Root may unshare directly; anyone else through a user namespace of their own.
UNSHARE = ["unshare", "--pid", "--net", "--fork", "--mount-proc"] + (
    [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
)
OWN_SETTINGS = (SERVER_SETTING, CLEANUP_SETTING, LOCK_WAIT_SETTING, BINDIR_SETTING)


@dataclass
class Result:
    returncode: int
    output: str
    seconds: float


class Reliability:
    """The reliability cluster and how to run pytest against it."""

    def __init__(self, server: cluster.PrivateCluster, workdir: Path) -> None:
        self.server = server
        self.workdir = workdir
        self._markers = 0

    def url(self, database: str = "postgres") -> URL:
        return self.server.url(database)

    # -- environments --------------------------------------------------------------
    def env(self, **overrides: str | None) -> dict[str, str]:
        """A developer's shell pointed at this cluster, DATABASE_URL at their database."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in (*CONFIG_ENVIRONMENT, *TEST_ENVIRONMENT)
            and k not in OWN_SETTINGS
            and not k.startswith(("PYTEST_", "SAMPLE_"))
        }
        env.update(
            DATABASE_HOST=str(self.server.socket_dir),
            DATABASE_PORT=str(self.server.port),
            DATABASE_NAME=DEVELOPER_DATABASE,
            DATABASE_USER="postgres",
            DATABASE_URL=self.url(DEVELOPER_DATABASE).render_as_string(hide_password=False),
            TEST_DATABASE_SERVER="configured",
            PYTHONPATH=str(ROOT),  # the sample suite plugs the app in from tests/conftest.py
        )
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    # -- runs ------------------------------------------------------------------------
    def sample_command(self, *args: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "pytest",
            str(SAMPLE),
            "-c",
            str(SAMPLE / "pytest.ini"),
            "--rootdir",
            str(SAMPLE),
            "-q",
            *args,
        ]

    def run(self, command: list[str], env: dict[str, str], timeout: float = 180) -> Result:
        start = time.monotonic()
        done = subprocess.run(
            command, cwd=self.workdir, env=env, capture_output=True, text=True, timeout=timeout
        )
        return Result(done.returncode, done.stdout + done.stderr, time.monotonic() - start)

    def run_sample(self, *args: str, timeout: float = 180, **env: str | None) -> Result:
        return self.run(self.sample_command(*args), self.env(**env), timeout)

    def start_sample(
        self, *args: str, machine: bool = False, **env: str | None
    ) -> subprocess.Popen:
        """Start a run in its own process group (so it can be killed like a terminal's).

        ``machine``: as if on a machine of its own (a CI shard): in new PID and network
        namespaces, so its pids and xdist worker ids are those of any other such run; it
        reaches the cluster by its Unix socket.
        """
        command = self.sample_command(*args)
        if machine:
            command = [*UNSHARE, *command]
        return subprocess.Popen(
            command,
            cwd=self.workdir,
            env=self.env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def marker(self) -> Path:
        self._markers += 1
        return self.workdir / f"marker-{self._markers}"

    def run_repo_pytest(self, *args: str, timeout: float = 300, **env: str | None) -> Result:
        """pytest on the project's own tests, from the checkout, against this cluster."""
        command = [sys.executable, "-m", "pytest", *args]
        start = time.monotonic()
        done = subprocess.run(
            command, cwd=ROOT, env=self.env(**env), capture_output=True, text=True, timeout=timeout
        )
        return Result(done.returncode, done.stdout + done.stderr, time.monotonic() - start)

    # -- what is on the server ---------------------------------------------------------
    def databases(self) -> list[str]:
        return databases_on(self.url())

    def fingerprint(self) -> dict[str, object]:
        """Every non-test database: its oid, tables, row counts and a checksum of rows."""
        return {
            name: (oid, tables_checksum(self.url(name)))
            for name, oid in database_oids(self.url()).items()
            if not is_test_database_name(name)
        }

    def fingerprint_of(self, name: str) -> object:
        """One database: its oid (a drop and re-create changes it), tables and row checksums."""
        return database_oids(self.url()).get(name), tables_checksum(self.url(name))

    def execute(self, database: str, *statements: str) -> None:
        with admin_connection(self.url(database)) as connection:
            for statement in statements:
                connection.execute(text(statement))

    @contextmanager
    def hand_made_database(self, name: str) -> Iterator[Callable[[], object]]:
        """A database a developer made by hand (no mark) holding rows; dropped after.

        Yields a function returning its fingerprint (oid, tables, row checksums).
        """
        self.execute("postgres", f"CREATE DATABASE {name}")
        try:
            self.execute(
                name,
                "CREATE TABLE notes (id serial PRIMARY KEY, body text)",
                "INSERT INTO notes (body) SELECT 'note ' || n FROM generate_series(1, 25) n",
            )

            yield lambda: self.fingerprint_of(name)
        finally:
            self.execute("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def database_oids(url: URL) -> dict[str, int]:
    """Every database on the server of ``url`` but the templates, by name, with its oid."""
    with admin_connection(url) as connection:
        return dict(
            connection.execute(
                text("SELECT datname, oid FROM pg_database WHERE NOT datistemplate ORDER BY 1")
            ).all()
        )


def databases_on(url: URL) -> list[str]:
    """Databases of test runs on the server of ``url``: test names (the guard's rule),
    not the caches runs keep on purpose (schema templates, kept databases)."""
    caches = set(caches_on(url))
    return [
        name for name in database_oids(url) if is_test_database_name(name) and name not in caches
    ]


def caches_on(url: URL) -> list[str]:
    """Schema templates and kept databases (their marks say so)."""
    with admin_connection(url) as connection:
        rows = connection.execute(
            text("SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database")
        ).all()
    return sorted(
        name for name, comment in rows if (mark := Mark.parse(comment)) and mark.kind != RUN
    )


def remove_caches(url: URL) -> None:
    """Drop the caches: each reliability test starts with none."""
    with admin_connection(url) as connection:
        for name in caches_on(url):
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))


def tables_checksum(url: URL) -> dict[str, tuple[int, str]]:
    with admin_connection(url) as connection:
        tables = connection.scalars(
            text(
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' "
                "ORDER BY 1"
            )
        ).all()
        return {
            table: tuple(connection.execute(text(f"{ROWS_CHECKSUM} FROM {table} t")).one())
            for table in tables
        }


def wait_for(path_prefix: Path, count: int = 1, timeout: float = 60) -> None:
    """Wait until ``count`` pause markers (one per worker) exist."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(list(path_prefix.parent.glob(path_prefix.name + ".*"))) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"the run never reached its pause point ({path_prefix})")


def kill_group(process: subprocess.Popen, sig: int = signal.SIGKILL, timeout: float = 60) -> str:
    """Signal the run's whole process group (as a terminal does) and collect its output
    once every process of the group is gone (xdist workers may outlive the controller)."""
    os.killpg(process.pid, sig)
    output, _ = process.communicate(timeout=timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)  # no event tells us a process of the group ended
    return output or ""


@contextmanager
def server_with(**settings: object) -> Iterator[cluster.PrivateCluster]:
    """A private server of its own, restarted with ``ALTER SYSTEM`` settings (e.g.
    ``max_connections=8``); removed after."""
    bindir, _ = cluster.find_binaries()
    assert bindir is not None, "needs the PostgreSQL server binaries"
    server = cluster.acquire(bindir, run=f"own-{uuid.uuid4().hex}")
    try:
        with admin_connection(server.url()) as connection:
            for name, value in settings.items():
                connection.execute(text(f"ALTER SYSTEM SET {name} = {value}"))
        cluster.stop(server)
        cluster.start(server, bindir)
        yield server
    finally:
        cluster.release(server)
