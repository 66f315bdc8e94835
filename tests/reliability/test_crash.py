"""Scenario 2: a run killed at any point leaves a mess the next run removes."""

import signal

import pytest

from pytest_flask_pgdb.databases import cluster
from pytest_flask_pgdb.settings import SERVER_SETTING
from tests.reliability.harness import kill_group, wait_for

pytestmark = pytest.mark.usefixtures("developer_data_is_untouched")

POINTS = ["setup", "test", "teardown"]


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("workers", [0, 2], ids=["serial", "xdist-2"])
def test_sigkill_then_the_next_run_cleans_up_and_passes(reliability, workers, point):
    marker = reliability.marker()
    args = ["-n", str(workers)] if workers else []
    run = reliability.start_sample(*args, SAMPLE_PAUSE=point, SAMPLE_MARKER=str(marker))
    # At setup and teardown every worker pauses; inside a test, the first one does.
    wait_for(marker, count=workers if workers and point != "test" else 1)
    kill_group(run, signal.SIGKILL)
    left = reliability.databases()
    assert left, "the killed run should have left its test databases behind"

    again = reliability.run_sample(*args)
    assert again.returncode == 0, again.output
    assert reliability.databases() == []


def test_sigkill_with_a_private_cluster_then_the_next_run_removes_it(reliability):
    before = {p.directory for p in cluster.iter_running()}
    marker = reliability.marker()
    run = reliability.start_sample(
        "-n", "2", SAMPLE_PAUSE="test", SAMPLE_MARKER=str(marker), **{SERVER_SETTING: "private"}
    )
    wait_for(marker)
    kill_group(run, signal.SIGKILL)
    abandoned = {p.directory for p in cluster.iter_running()} - before
    assert len(abandoned) == 1, "the killed run should have left its cluster running"

    again = reliability.run_sample("-n", "2", **{SERVER_SETTING: "private"})
    assert again.returncode == 0, again.output
    assert {p.directory for p in cluster.iter_running()} - before == set()
    assert not any(directory.exists() for directory in abandoned)


@pytest.mark.parametrize("server", ["configured", "private"])
@pytest.mark.parametrize("workers", [0, 2], ids=["serial", "xdist-2"])
def test_ctrl_c_leaves_nothing_behind(reliability, workers, server):
    before = {p.directory for p in cluster.iter_running()}
    marker = reliability.marker()
    args = ["-n", str(workers)] if workers else []
    run = reliability.start_sample(
        *args, SAMPLE_PAUSE="test", SAMPLE_MARKER=str(marker), **{SERVER_SETTING: server}
    )
    wait_for(marker)
    output = kill_group(run, signal.SIGINT, timeout=60)
    assert run.returncode != 0
    assert "KeyboardInterrupt" in output or "Interrupted" in output, output
    assert reliability.databases() == []
    assert {p.directory for p in cluster.iter_running()} - before == set()
