"""Scenario 5: leaked sessions, connections and threads neither block nor go unnamed."""

import pytest

pytestmark = pytest.mark.usefixtures("developer_data_is_untouched")


@pytest.mark.parametrize("strategy", ["delete", "truncate"])
def test_leaks_are_cleaned_up_and_the_leaking_test_is_named(reliability, strategy):
    result = reliability.run_sample(
        "-p",
        "no:randomly",
        "-W",
        "default",
        SAMPLE_LEAKS="1",
        TEST_DATABASE_CLEANUP=strategy,
        timeout=120,
    )
    assert result.returncode == 0, result.output
    assert result.seconds < 60
    out = result.output
    assert "sample_suite.py::test_leaks_transaction left 1 database session(s) in a " in out
    assert "transaction (terminated)" in out
    assert "sample_suite.py::test_leaks_connection left 1 database connection(s) open" in out
    assert "sample_suite.py::test_leaks_thread left 1 thread(s) running: sleeper" in out
    # Tests that leak nothing are never blamed.
    assert "test_chain" not in out.split("warnings summary")[-1]


@pytest.mark.parametrize("strategy", ["delete", "truncate"])
def test_a_test_that_changes_more_than_rows_is_named_and_the_next_starts_as_built(
    reliability, strategy
):
    result = reliability.run_sample(
        "-p", "no:randomly", "-W", "default", "-k", "misbehav",
        SAMPLE_MISBEHAVE="1", TEST_DATABASE_CLEANUP=strategy,
    )  # fmt: skip
    assert result.returncode == 0, result.output
    out = result.output
    assert "2 passed" in out
    culprit = "sample_suite.py::test_misbehaves left"
    assert f"{culprit} the database changed beyond its rows (rebuilt): " in out
    assert "sequence public.projects_id_seq altered" in out
    assert "table public.junk created" in out
    assert f"{culprit} session state on a pooled connection (discarded): " in out
    assert "SET session_replication_role = replica" in out
    assert "test_after_the_misbehaviour left" not in out
