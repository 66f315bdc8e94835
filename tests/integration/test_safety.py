"""The developer's data is sacred: the guard, and a canary database across whole runs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from claude_headspace.database import db
from claude_headspace.testing import cluster
from claude_headspace.testing.cleanup import DatabaseCleaner
from claude_headspace.testing.databases import TestDatabase, autocommit_connection
from claude_headspace.testing.environment import CONFIG_ENVIRONMENT
from claude_headspace.testing.errors import UnsafeDatabaseError

ROOT = Path(__file__).resolve().parents[2]
CANARY = "claude_headspace"  # named exactly like the developer's database
CANARY_CHECKSUM = "SELECT count(*), md5(string_agg(c::text, ',' ORDER BY id)) FROM canary c"


@pytest.mark.parametrize("name", ["claude_headspace", "postgres", "prod", "test", "x_testing"])
def test_guard_refuses_to_create_or_drop_a_non_test_name(test_server, name):
    with pytest.raises(UnsafeDatabaseError, match=f"refusing to use database '{name}'"):
        TestDatabase(test_server, name)


def test_guard_checks_the_live_connection_not_the_setting(test_server):
    with (
        autocommit_connection(test_server.maintenance_url) as connection,  # really 'postgres'
        pytest.raises(UnsafeDatabaseError, match="refusing to clean database 'postgres'"),
    ):
        DatabaseCleaner(connection, db.metadata, "delete")


def fingerprint(url) -> dict:
    """Everything that would change if a run touched the database: oid, tables, rows."""
    with autocommit_connection(url) as connection:
        return {
            "oid": connection.scalar(
                text("SELECT oid FROM pg_database WHERE datname = current_database()")
            ),
            "tables": connection.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
            ).all(),
            "canary": tuple(connection.execute(text(CANARY_CHECKSUM)).one()),
        }


@pytest.fixture
def canary_server():
    """A private cluster of our own holding a database named like the developer's."""
    bindir, looked = cluster.find_binaries()
    assert bindir is not None, f"the canary test needs PostgreSQL binaries; looked in {looked}"
    private = cluster.acquire(bindir, run=f"{cluster.run_id()}-canary-{os.getpid()}")
    with autocommit_connection(private.url()) as connection:
        connection.execute(text(f"CREATE DATABASE {CANARY}"))
    with autocommit_connection(private.url(CANARY)) as connection:
        connection.execute(text("CREATE TABLE canary (id int PRIMARY KEY, note text)"))
        connection.execute(
            text("INSERT INTO canary SELECT n, 'row ' || n FROM generate_series(1, 50) n")
        )
    yield private
    cluster.release(private)


@pytest.mark.subprocess_run
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist-2"])
def test_canary_database_is_untouched_by_a_full_run(canary_server, workers):
    canary_url = canary_server.url(CANARY)
    before = fingerprint(canary_url)
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_ENVIRONMENT}
    env.update(
        DATABASE_HOST=cluster.HOST,
        DATABASE_PORT=str(canary_server.port),
        DATABASE_NAME=CANARY,
        # Even with the app's DATABASE_URL aimed at the canary while tests run.
        DATABASE_URL=canary_url.render_as_string(hide_password=False),
        TEST_DATABASE_SERVER="configured",
    )
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_XDIST_TESTRUNUID", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/integration",
            "-m",
            "not subprocess_run",
            "-q",
            "-p",
            "no:cacheprovider",
            *workers,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
    assert fingerprint(canary_url) == before
    with autocommit_connection(canary_server.url()) as connection:
        left = connection.scalars(
            text("SELECT datname FROM pg_database WHERE datname LIKE '%test%'")
        ).all()
    assert left == []
