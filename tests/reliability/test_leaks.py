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
