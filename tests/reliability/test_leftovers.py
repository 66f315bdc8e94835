"""nox -s leftovers: what test runs left, listed, and removed only where it is safe."""

import subprocess
import sys
import uuid

import pytest
from sqlalchemy import text

from pytest_flask_pgdb.databases.connections import admin_connection
from pytest_flask_pgdb.databases.guard import staging_name
from pytest_flask_pgdb.databases.lifecycle import TestDatabase
from pytest_flask_pgdb.databases.server import Server

PROJECT = "claude_headspace"  # the base name of the harness's DATABASE_URL

pytestmark = pytest.mark.usefixtures("developer_data_is_untouched")


def leftovers(reliability, *args):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--pgdb-leftovers", *args],
        env=reliability.env(),
        cwd=reliability.workdir,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_lists_and_removes_only_what_dead_runs_left(reliability):
    server = Server(reliability.url())
    dead = TestDatabase(server, "claude_headspace_dead_test", run=uuid.uuid4().hex, project=PROJECT)
    live = TestDatabase(server, "claude_headspace_live_test", run=uuid.uuid4().hex, project=PROJECT)
    dead.setup()
    live.setup()
    with admin_connection(reliability.url()) as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": dead.claim_pid})
    try:
        with reliability.hand_made_database("claude_headspace_mine_test") as fingerprint:
            before = fingerprint()
            listed = leftovers(reliability)
            assert listed.returncode == 0, listed.stderr
            assert "database claude_headspace_dead_test on " in listed.stdout
            assert "abandoned by a dead run" in listed.stdout
            assert "claude_headspace_live_test" in listed.stdout
            assert "in use by a live run" in listed.stdout
            assert "claude_headspace_mine_test" not in listed.stdout  # not ours: not listed

            removed = leftovers(reliability, "--pgdb-remove-leftovers")
            assert removed.returncode == 0, removed.stderr
            assert "dropped database claude_headspace_dead_test" in removed.stdout
            assert "dropped database claude_headspace_live_test" not in removed.stdout
            assert fingerprint() == before
        assert reliability.databases() == ["claude_headspace_live_test"]
    finally:
        live.teardown()
        dead.teardown()


def test_a_half_created_database_is_listed_and_removed(reliability):
    """A crash between CREATE and the mark leaves a staging database, with no mark."""
    staging = staging_name(PROJECT)
    with admin_connection(reliability.url()) as admin:
        admin.execute(text(f"CREATE DATABASE {staging}"))
    listed = leftovers(reliability)
    assert listed.returncode == 0, listed.stderr
    assert f"database {staging} on " in listed.stdout
    assert "left half-created by a crash" in listed.stdout
    removed = leftovers(reliability, "--pgdb-remove-leftovers")
    assert f"dropped database {staging}" in removed.stdout
    assert reliability.databases() == []
