"""Scenario 4: no server at the start, or the server stops in the middle of a run."""

import socket
import time
import uuid

import pytest

from claude_headspace.testing import cluster
from claude_headspace.testing.settings import BINDIR_SETTING, SERVER_SETTING
from tests.reliability.harness import databases_on, wait_for

pytestmark = pytest.mark.usefixtures("developer_data_is_untouched")


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])  # closed again on return: nothing listens


def test_no_server_but_binaries_uses_a_private_cluster(reliability):
    before = {p.directory for p in cluster.iter_running()}
    result = reliability.run_sample(DATABASE_PORT=closed_port(), **{SERVER_SETTING: "auto"})
    assert result.returncode == 0, result.output
    assert {p.directory for p in cluster.iter_running()} - before == set()


def test_no_server_and_no_binaries_fails_clearly_within_10_seconds(reliability):
    port = closed_port()
    result = reliability.run_sample(
        DATABASE_PORT=port, **{SERVER_SETTING: "auto", BINDIR_SETTING: "/nonexistent/bin"}
    )
    assert result.returncode != 0
    assert result.seconds < 10
    assert "no PostgreSQL server for the tests. Tried: the configured server at" in result.output
    assert f"127.0.0.1:{port}" in result.output
    assert "install the PostgreSQL server binaries" in result.output
    assert "Traceback" not in result.output


@pytest.fixture
def doomed_server():
    """A server of its own that the test may stop and start again."""
    bindir, _ = cluster.find_binaries()
    server = cluster.acquire(bindir, run=f"{cluster.run_id()}-outage-{uuid.uuid4().hex[:6]}")
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
    again = reliability.run_sample(DATABASE_PORT=str(server.port))
    assert again.returncode == 0, again.output
    assert databases_on(server.url()) == []
