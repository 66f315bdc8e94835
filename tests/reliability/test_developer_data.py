"""Scenario 1: the developer's databases are byte-for-byte unchanged by any run."""

import pytest

from pytest_flask_pgdb.settings import SERVER_SETTING

pytestmark = pytest.mark.usefixtures("developer_data_is_untouched")


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist-2"])
def test_sample_runs_leave_developer_data_alone(reliability, workers):
    result = reliability.run_sample(*workers)
    assert result.returncode == 0, result.output
    assert "7 passed" in result.output
    # One line per run (also with -q and under xdist) says what was used.
    names = (
        "claude_headspace_test_gw0, claude_headspace_test_gw1"
        if workers
        else ("claude_headspace_test")
    )
    assert result.output.count("test databases: ") == 1, result.output
    assert f"test databases: {names} on the configured server" in result.output
    assert "cleanup: delete" in result.output


def test_schema_parity_leaves_developer_data_alone(reliability):
    # What `nox -s schema_parity` runs, pointed at the developer's server.
    result = reliability.run_repo_pytest("tests/schema", "-q", "-p", "no:randomly")
    assert result.returncode == 0, result.output[-3000:]
    assert " passed" in result.output


def test_a_private_cluster_run_leaves_developer_data_alone(reliability):
    result = reliability.run_sample("-n", "2", **{SERVER_SETTING: "private"})
    assert result.returncode == 0, result.output
