"""Scenario 3: runs at the same moment on the same server never corrupt each other.

Runs take namespaces of their own (test_many_runs.py); here two runs ask for the same
names on purpose (one explicit namespace): the second waits, then fails or goes on.
"""

import time

import pytest

from pytest_flask_pgdb.settings import LOCK_WAIT_SETTING, NAMESPACE_SETTING, TEST_DATABASE_URL

pytestmark = pytest.mark.usefixtures("developer_data_is_untouched")


def start_two(reliability, first_env, second_env):
    runs = [
        reliability.start_sample(SAMPLE_SLOW="3", **first_env),
        reliability.start_sample(SAMPLE_SLOW="3", **second_env),
    ]
    outputs = [run.communicate(timeout=180)[0] for run in runs]
    return [(run.returncode, output) for run, output in zip(runs, outputs, strict=True)]


def test_same_name_second_run_fails_fast_naming_the_database(reliability):
    env = {LOCK_WAIT_SETTING: "0", NAMESPACE_SETTING: "same"}
    start = time.monotonic()
    results = start_two(reliability, env, env)
    assert time.monotonic() - start < 60
    codes = sorted(code for code, _ in results)
    assert codes[0] == 0, results  # one run is unharmed
    assert codes[1] != 0, results
    loser = next(output for code, output in results if code != 0)
    assert "test database 'claude_headspace_same_test'" in loser
    assert "in use by another live test run" in loser
    assert TEST_DATABASE_URL in loser
    assert "Traceback" not in loser
    assert "test databases:  on" not in loser  # no closing line that names no database


def test_same_name_second_run_waits_and_passes(reliability):
    env = {LOCK_WAIT_SETTING: "60", NAMESPACE_SETTING: "same"}
    results = start_two(reliability, env, env)
    assert [code for code, _ in results] == [0, 0], results


def test_distinct_test_database_urls_run_side_by_side(reliability):
    def url(name):
        return reliability.url(name).render_as_string(hide_password=False)

    results = start_two(
        reliability,
        {TEST_DATABASE_URL: url("first_test"), LOCK_WAIT_SETTING: "0"},
        {TEST_DATABASE_URL: url("second_test"), LOCK_WAIT_SETTING: "0"},
    )
    assert [code for code, _ in results] == [0, 0], results


def test_n4_then_n2_leaves_no_orphans(reliability):
    for workers in ("4", "2"):
        result = reliability.run_sample("-n", workers)
        assert result.returncode == 0, result.output
        assert reliability.databases() == []
