"""Scenario 4: no server at the start, or the server stops in the middle of a run."""

import socket
import time
import uuid

import pytest
from sqlalchemy import text

from claude_headspace import create_app
from claude_headspace.database import db
from pytest_flask_pgdb.databases import cluster
from pytest_flask_pgdb.databases.connections import admin_connection
from pytest_flask_pgdb.settings import BINDIR_SETTING, SERVER_SETTING
from tests.reliability.harness import databases_on, wait_for

pytestmark = pytest.mark.usefixtures("developer_data_is_untouched")


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])  # closed again on return: nothing listens


def test_no_server_but_binaries_uses_a_private_cluster(reliability):
    before = {p.directory for p in cluster.iter_running()}
    port = closed_port()
    result = reliability.run_sample(DATABASE_PORT=port, **{SERVER_SETTING: "auto"})
    assert result.returncode == 0, result.output
    # The run says that it used a private cluster, and why (a wrong port, here).
    assert "test databases: claude_headspace_test on a private cluster (nothing answers at" in (
        result.output
    )
    assert f":{port})" in result.output
    assert {p.directory for p in cluster.iter_running()} - before == set()


def test_no_server_and_no_binaries_fails_clearly_within_10_seconds(reliability):
    port = closed_port()
    result = reliability.run_sample(
        DATABASE_PORT=port, **{SERVER_SETTING: "auto", BINDIR_SETTING: "/nonexistent/bin"}
    )
    assert result.returncode != 0
    assert result.seconds < 10
    assert "no PostgreSQL server for the tests. Tried: the configured server at" in result.output
    assert f":{port}" in result.output
    assert "install the PostgreSQL server binaries" in result.output
    assert "Traceback" not in result.output


@pytest.fixture
def doomed_server():
    """A server of its own that the test may stop and start again."""
    bindir, _ = cluster.find_binaries()
    server = cluster.acquire(bindir, run=f"outage-{uuid.uuid4().hex}")
    yield server, bindir
    cluster.release(server)


def test_server_stopped_mid_run_ends_the_run_clearly_and_the_next_is_green(
    reliability, doomed_server
):
    server, bindir = doomed_server
    marker, resume = reliability.marker(), reliability.workdir / f"resume-{uuid.uuid4().hex}"
    run = reliability.start_sample(
        "-p",
        "no:randomly",
        DATABASE_HOST=str(server.socket_dir),
        DATABASE_PORT=str(server.port),
        SAMPLE_PAUSE="test",
        SAMPLE_MARKER=str(marker),
        SAMPLE_RESUME=str(resume),
    )
    wait_for(marker)
    cluster.stop(server)
    resume.touch()
    start = time.monotonic()
    output, _ = run.communicate(timeout=120)
    assert time.monotonic() - start < 60, "the run did not end in bounded time"
    assert run.returncode != 0
    assert "the PostgreSQL server went away during" in output, output[-3000:]
    assert "stopping the run" in output

    cluster.start(server, bindir)
    assert databases_on(server.url()) == ["claude_headspace_test"]  # left by the outage
    again = reliability.run_sample(
        DATABASE_HOST=str(server.socket_dir), DATABASE_PORT=str(server.port)
    )
    assert again.returncode == 0, again.output
    assert databases_on(server.url()) == []


def test_the_app_starts_degraded_and_recovers_without_a_restart(doomed_server):
    """FR8 / SC-12: /health goes back to connected when the server starts or restarts."""
    server, bindir = doomed_server
    with admin_connection(server.url()) as connection:
        connection.execute(text("CREATE DATABASE claude_headspace"))
    cluster.stop(server)
    app = create_app(database_url=server.url("claude_headspace").render_as_string())
    client = app.test_client()

    down = client.get("/health").get_json()
    assert (down["status"], down["database"]) == ("degraded", "disconnected")
    cluster.start(server, bindir)
    assert client.get("/health").get_json()["database"] == "connected"
    cluster.stop(server)
    assert client.get("/health").get_json()["database"] == "disconnected"
    cluster.start(server, bindir)
    assert client.get("/health").get_json()["database"] == "connected"
    with app.app_context():
        db.engine.dispose()
