"""Issue 10, ownership: a database the tests did not create is never dropped or emptied.

Each scenario failed on the code before marks: the run dropped (or swept) the
developer's database without a word.
"""

import time

import pytest

from pytest_flask_pgdb.settings import LOCK_WAIT_SETTING, TEST_DATABASE_URL
from tests.reliability.harness import APP_PASSWORD, APP_USER, wait_for

pytestmark = pytest.mark.usefixtures("developer_data_is_untouched")

WORKERS = pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist-2"])


def _one_clear_stop(result, expected):
    assert result.returncode != 0, result.output
    assert result.output.count(expected) == 1, result.output[-3000:]
    assert "Traceback" not in result.output
    assert "ERROR at setup" not in result.output  # not pinned on a test


@WORKERS
def test_dev_database_named_like_the_test_database_via_database_url(reliability, workers):
    with reliability.hand_made_database("claude_headspace_test") as fingerprint:
        before = fingerprint()
        url = reliability.url("claude_headspace_test").render_as_string(hide_password=False)
        result = reliability.run_sample(*workers, DATABASE_URL=url)
        assert fingerprint() == before
    assert result.returncode != 0, result.output
    assert "'claude_headspace_test' is the app's own database (DATABASE_URL)" in result.output
    assert "Traceback" not in result.output


@WORKERS
def test_test_database_url_equal_to_database_url_is_refused(reliability, workers):
    with reliability.hand_made_database("claude_headspace_test") as fingerprint:
        before = fingerprint()
        url = reliability.url("claude_headspace_test").render_as_string(hide_password=False)
        result = reliability.run_sample(*workers, DATABASE_URL=url, **{TEST_DATABASE_URL: url})
        assert fingerprint() == before
    assert result.returncode != 0
    assert "is the app's own database (DATABASE_URL)" in result.output


def test_unmarked_database_with_the_test_name_stops_the_run(reliability):
    with reliability.hand_made_database("claude_headspace_test") as fingerprint:
        before = fingerprint()
        result = reliability.run_sample()
        assert fingerprint() == before
    _one_clear_stop(result, "was not created by the tests (it has no test-run mark)")
    assert "database 'claude_headspace_test' exists on" in result.output
    assert " passed" not in result.output  # serial: stopped before its first test
    assert "DROP DATABASE claude_headspace_test;" in result.output


def test_unmarked_worker_database_stops_an_xdist_run_once(reliability):
    with reliability.hand_made_database("claude_headspace_test_gw1") as fingerprint:
        before = fingerprint()
        result = reliability.run_sample("-n", "2")
        assert fingerprint() == before
    _one_clear_stop(result, "was not created by the tests")
    assert "'claude_headspace_test_gw1'" in result.output


def test_unmarked_sibling_the_run_does_not_need_is_left_alone(reliability):
    with reliability.hand_made_database("claude_headspace_test_gw7") as fingerprint:
        before = fingerprint()
        for workers in ([], ["-n", "2"]):
            result = reliability.run_sample(*workers)
            assert result.returncode == 0, result.output
        assert fingerprint() == before


def test_idle_session_timeout_cannot_hand_a_live_runs_database_to_another_run(reliability):
    """The server ends idle sessions after 1 s; run A idles 2.5 s holding its namespace
    and its claim."""
    reliability.execute("postgres", "ALTER DATABASE postgres SET idle_session_timeout = '1s'")
    try:
        marker = reliability.marker()
        resume = reliability.workdir / "resume-idle"
        first = reliability.start_sample(
            "-p", "no:randomly", SAMPLE_PAUSE="test", SAMPLE_MARKER=str(marker),
            SAMPLE_RESUME=str(resume),
        )  # fmt: skip
        wait_for(marker)
        time.sleep(2.5)  # A's claim has been idle longer than the server allows
        second = reliability.run_sample(**{LOCK_WAIT_SETTING: "0"})
        resume.touch()
        output, _ = first.communicate(timeout=120)
    finally:
        reliability.execute("postgres", "ALTER DATABASE postgres RESET idle_session_timeout")
    # A's sessions outlived the timeout: its namespace session made B take n2 (had it
    # ended, B would have taken A's names), and its claim is intact (A's cleaner checks
    # it at every test: a lost claim stops A).
    assert first.returncode == 0, output[-3000:]
    assert second.returncode == 0, second.output
    assert "namespace n2 (another live run holds the plain names)" in second.output


def test_a_test_that_ends_the_claim_stops_the_run_and_nothing_is_left(reliability):
    result = reliability.run_sample("-p", "no:randomly", SAMPLE_END_CLAIM="1")
    assert result.returncode != 0
    assert "lost its claim on test database 'claude_headspace_test'" in result.output
    assert "sample_suite.py::test_ends_the_runs_claim" in result.output
    assert "Traceback" not in result.output
    assert reliability.databases() == []


def test_two_roles_of_one_project_share_a_server_each_with_its_own_template(reliability):
    """A role may clone and drop only the databases it owns: each role's runs build their
    own template, and a non-superuser's sweep leaves the other role's caches alone
    (dropping them would fail the run: "must be owner of database")."""
    project = ("-o", "pgdb_project=claude_headspace", "-k", "test_chain and 0")
    first = reliability.run_sample(*project)
    assert first.returncode == 0, first.output
    as_app = reliability.run_sample(
        *project,
        DATABASE_USER=APP_USER,
        DATABASE_PASSWORD=APP_PASSWORD,
        DATABASE_NAME="app_headspace",
    )
    assert as_app.returncode == 0, as_app.output
    again = reliability.run_sample(*project)
    assert again.returncode == 0, again.output
    assert "(kept from the last run)" in again.output
