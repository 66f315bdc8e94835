"""What a run must never do to a server, whatever tests and administrators do (issue 22)."""

import re
import signal
import socket
import time
import uuid

import pytest
from sqlalchemy import text

from pytest_flask_pgdb.databases import cluster
from pytest_flask_pgdb.databases.connections import admin_connection
from pytest_flask_pgdb.databases.guard import is_test_database_name
from pytest_flask_pgdb.settings import SERVER_SETTING, TEST_DATABASE_URL
from tests.reliability.harness import (
    database_oids,
    databases_on,
    kill_group,
    server_with,
    tables_checksum,
    wait_for,
)

pytestmark = pytest.mark.usefixtures("developer_data_is_untouched")


def nothing_listening() -> str:
    """A test database URL on a port where no server answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/claude_headspace_test"


@pytest.mark.parametrize(
    "report", ["--co", "--collect-only", "--fixtures", "--fixtures-per-test", "--markers"]
)
def test_a_run_that_only_reports_touches_no_server(reliability, report):
    """Before: --co created, swept and dropped databases. With a server that cannot be
    reached and no fallback, any attempt to connect would end the run in an error."""
    result = reliability.run_sample(
        report, **{TEST_DATABASE_URL: nothing_listening(), SERVER_SETTING: "configured"}
    )
    assert result.returncode == 0, result.output[-3000:]
    assert "could not" not in result.output
    assert "database work:" not in result.output


def test_a_renamed_leftover_is_left_named_once_and_stops_no_run(reliability):
    """Someone renamed a killed run's marked database to keep it (scenario 6). Before:
    every later run stopped at the sweep; leftovers --remove ended in a traceback."""
    marker = reliability.marker()
    run = reliability.start_sample(SAMPLE_PAUSE="setup", SAMPLE_MARKER=str(marker))
    wait_for(marker)
    kill_group(run, signal.SIGKILL)
    (leftover,) = reliability.databases()
    reliability.execute("postgres", f"ALTER DATABASE {leftover} RENAME TO keepme")
    try:
        kept = reliability.fingerprint_of("keepme")
        again = reliability.run_sample("-n", "2")
        assert again.returncode == 0, again.output
        assert again.output.count("'keepme'") == 1, again.output  # named once, not per worker
        removal = reliability.run_sample("--pgdb-remove-leftovers")
        assert removal.returncode == 0, removal.output
        assert "not removed: database 'keepme'" in removal.output
        assert "Traceback" not in removal.output
        assert reliability.fingerprint_of("keepme") == kept  # untouched
    finally:
        reliability.execute("postgres", "DROP DATABASE IF EXISTS keepme")


def test_a_test_that_makes_its_database_a_template_is_named_and_it_is_rebuilt(reliability):
    """Scenario 2. Before: the rebuild failed ('cannot drop a template database'),
    thousands of lines, and the leftover stopped every later run on the server."""
    result = reliability.run_sample(
        "-n", "2", "-W", "default", SAMPLE_SQL="ALTER DATABASE {db} IS_TEMPLATE true"
    )
    assert "test_runs_sample_sql" in result.output, result.output[-3000:]
    assert "Traceback" not in result.output
    assert len(result.output.splitlines()) <= 20, result.output[-3000:]
    assert "test_after_the_sample_sql" not in result.output.split("warnings summary")[-1]
    again = reliability.run_sample("-n", "2")
    assert again.returncode == 0, again.output


@pytest.mark.parametrize(
    ("options", "named", "stops_at_setup"),
    [
        ("-c default_transaction_read_only=on", "default_transaction_read_only=on", True),
        ("-c statement_timeout=1", "statement_timeout=1", False),
        ("-c session_replication_role=replica", "session_replication_role=replica", False),
    ],
)
def test_a_connection_setting_that_changes_the_server_is_named_as_the_cause(
    reliability, options, named, stops_at_setup
):
    """Scenario 9. Before: 'the user needs the CREATEDB privilege', 'fix the
    user/password', or twelve foreign-key failures and no hint at all. (A statement
    timeout of 1 ms also fails the app's own queries, test by test: those failures are
    the tests', the closing line names their cause.)"""
    result = reliability.run_sample("-n", "2", PGOPTIONS=options)
    assert f"{named} (PGOPTIONS)" in result.output, result.output[-3000:]
    assert "CREATEDB" not in result.output
    assert "user/password" not in result.output
    if stops_at_setup:
        assert "could not set up the test databases" in result.output, result.output[-3000:]
        assert result.returncode != 0
        assert len(result.output.splitlines()) <= 20, result.output[-3000:]
    # (A 1 ms timeout fails at random points: the setup of one worker, the app's queries
    # in the other's tests. Wherever it fails, the cause is named, as asserted above.)


def test_a_test_that_rewrites_its_databases_mark_is_named_and_nothing_is_left(reliability):
    """Scenario 1. Before: not detected; the database was left behind and the next run
    refused it as the developer's."""
    result = reliability.run_sample(
        "-n", "2", "-W", "default", SAMPLE_SQL="COMMENT ON DATABASE {db} IS 'mine now'"
    )
    assert "test_runs_sample_sql" in result.output, result.output[-3000:]
    assert "comment" in result.output.lower(), result.output[-3000:]
    assert "Traceback" not in result.output
    assert len(result.output.splitlines()) <= 20, result.output[-3000:]
    again = reliability.run_sample("-n", "2")
    assert again.returncode == 0, again.output


def test_a_lock_left_on_the_database_from_elsewhere_cannot_hang_the_end(reliability):
    """Scenario 4. Before: the final DROP DATABASE … WITH (FORCE) waited forever."""
    result = reliability.run_sample("-n", "2", SAMPLE_HOLD_DATABASE_LOCK="1", timeout=2 * 60)
    assert result.returncode == 0, result.output[-3000:]
    assert "held a lock on test database" in result.output, result.output[-3000:]
    assert "ALTER DATABASE" in result.output  # the session's last query, to find it by
    assert len(result.output.splitlines()) <= 20, result.output[-3000:]
    assert result.seconds < 2 * 5 + 30  # twice the drop's lock wait, plus the run


@pytest.mark.parametrize(
    "statement", ["SET ROLE cannot_create", "SET SESSION AUTHORIZATION cannot_create"]
)
def test_a_test_that_changes_its_connections_role_is_named_and_the_next_runs_as_before(
    reliability, statement
):
    """Scenario 3. Before: not detected (pg_settings shows neither); later tests ran as
    that role and failed with 'must be owner of table …'."""
    result = reliability.run_sample("-W", "default", SAMPLE_SQL=statement)
    assert result.returncode == 0, result.output[-3000:]  # test_after_the_sample_sql passed
    assert "test_runs_sample_sql left session state on a pooled connection" in result.output
    assert statement in result.output
    assert len(result.output.splitlines()) <= 20, result.output[-3000:]


@pytest.fixture
def two_phase_server():
    """A server of its own that allows prepared transactions (off by default)."""
    with server_with(max_prepared_transactions=4) as server:
        yield server


def test_a_prepared_transaction_left_by_a_test_is_rolled_back_and_named(
    reliability, two_phase_server
):
    """Scenario 5. Before: the next test hung; afterwards every run on the server failed
    ('being used by prepared transactions')."""
    on_it = {
        "DATABASE_HOST": str(two_phase_server.socket_dir),
        "DATABASE_PORT": str(two_phase_server.port),
    }
    result = reliability.run_sample(
        "-n", "2", "-W", "default", SAMPLE_PREPARED_TRANSACTION="1", timeout=120, **on_it
    )
    assert result.returncode == 0, result.output[-3000:]
    assert "test_leaves_a_prepared_transaction left" in result.output, result.output[-3000:]
    assert "1 prepared transaction(s) (rolled back): 'sample_left_this'" in result.output
    assert result.seconds < 60
    with admin_connection(two_phase_server.url()) as connection:
        assert connection.scalar(text("SELECT count(*) FROM pg_prepared_xacts")) == 0
    again = reliability.run_sample("-n", "2", **on_it)
    assert again.returncode == 0, again.output


@pytest.fixture
def restarted_server():
    """A server of its own that the test restarts, with a developer's database on it."""
    with server_with() as server:
        with admin_connection(server.url()) as connection:
            connection.execute(text("CREATE DATABASE claude_headspace"))
        with admin_connection(server.url("claude_headspace")) as connection:
            connection.execute(text("CREATE TABLE notes AS SELECT 'keep me' AS note"))
        yield server


def on_server(server) -> dict[str, str]:
    return {"DATABASE_HOST": str(server.socket_dir), "DATABASE_PORT": str(server.port)}


def developer_data(server) -> object:
    """Every database not of the tests (by oid), and the developer's rows."""
    others = {k: v for k, v in database_oids(server.url()).items() if not is_test_database_name(k)}
    return others, tables_checksum(server.url("claude_headspace"))


def first_client_of(server) -> None:
    """Wait until a client (the run) has a session on the server."""
    others = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )
    deadline = time.monotonic() + 60
    with admin_connection(server.url()) as connection:
        while not connection.scalar(others):
            assert time.monotonic() < deadline, "the run never connected"
            time.sleep(0.005)  # as soon as it can be seen: the setup takes ~0.2 s


@pytest.mark.parametrize("after", [0.0, 0.05, 0.1, 0.2])
def test_a_server_restart_during_setup_is_one_line_with_its_cause(
    reliability, restarted_server, after
):
    """Scenario 7: ``pg_ctl restart -m fast`` while two workers set up (``after`` seconds
    after the run's first session: the namespace, the claim, the template, the clone).
    Before: 280 lines, 274 INTERNALERROR, and 'fix the user/password'. The run may also
    finish green (the restart fell between its sessions); it never blames the settings."""
    bindir, _ = cluster.find_binaries()
    before = developer_data(restarted_server)
    run = reliability.start_sample("-n", "2", **on_server(restarted_server))
    first_client_of(restarted_server)
    time.sleep(after)
    cluster.restart(restarted_server, bindir)
    output, _ = run.communicate(timeout=120)
    # One fault, seen by each worker it reached (a late restart reaches their tests).
    reached = len(set(re.findall(r"\[gw\d\]", output))) or 1
    assert len(output.splitlines()) <= 20 * reached, output
    for never in ("INTERNALERROR", "Traceback", "user/password", "CREATEDB"):
        assert never not in output, output
    if run.returncode != 0:
        # Setup's wording, or a test's when the restart landed after setup (2 busy cores).
        causes = ("went away during", "restarted during", "no PostgreSQL server answers")
        assert any(cause in output for cause in causes), output
    again = reliability.run_sample("-n", "2", **on_server(restarted_server))
    assert again.returncode == 0, again.output
    assert databases_on(restarted_server.url()) == []
    assert developer_data(restarted_server) == before


def test_a_server_restart_during_a_test_says_so_not_that_the_claim_was_lost(
    reliability, restarted_server
):
    """Scenario 7, in a test. Before: 'this run lost its claim'; the docs promise that the
    server went away."""
    bindir, _ = cluster.find_binaries()
    marker, resume = reliability.marker(), reliability.workdir / f"resume-{uuid.uuid4().hex}"
    run = reliability.start_sample(
        "-p",
        "no:randomly",
        SAMPLE_PAUSE="test",
        SAMPLE_MARKER=str(marker),
        SAMPLE_RESUME=str(resume),
        **on_server(restarted_server),
    )
    wait_for(marker)
    cluster.restart(restarted_server, bindir)
    resume.touch()
    output, _ = run.communicate(timeout=120)
    assert run.returncode != 0
    assert "the PostgreSQL server restarted during" in output, output[-3000:]
    assert "lost its claim" not in output
    assert len(output.splitlines()) <= 20, output
    again = reliability.run_sample(**on_server(restarted_server))
    assert again.returncode == 0, again.output
    assert databases_on(restarted_server.url()) == []


# Variants of our own (beyond the nine): what a test can leave outside its
# database. Each broke before: left unnamed, or stopped every later run.
@pytest.mark.parametrize(
    ("statement", "named", "undo"),
    [
        (
            # Before: the reset failed (the administrative connection's own first statement
            # was cancelled) and so did every later run, blaming the namespace choice.
            "ALTER ROLE CURRENT_USER SET statement_timeout = '1ms'",
            "left the settings of role postgres in every database changed",
            "ALTER ROLE postgres RESET ALL",
        ),
        (
            "COMMIT;;CREATE DATABASE stray_database",  # before: left, never named
            "left database 'stray_database' created on the server",
            "DROP DATABASE IF EXISTS stray_database",
        ),
        (
            "CREATE ROLE made_by_a_test",  # before: left, never named
            "left role 'made_by_a_test' created on the server",
            "DROP ROLE IF EXISTS made_by_a_test",
        ),
        (
            # Before: not seen (the owner was not in the listing); a run of a role that is
            # not a superuser could not have dropped the database at the end.
            "ALTER DATABASE {db} OWNER TO cannot_create",
            "left the database changed beyond its rows (rebuilt): database claude_headspace",
            "SELECT 1",
        ),
    ],
    ids=["role-setting", "database", "role", "owner"],
)
def test_what_a_test_leaves_outside_its_database_is_named_with_it(
    reliability, statement, named, undo
):
    try:
        result = reliability.run_sample("-n", "2", "-W", "default", SAMPLE_SQL=statement)
        assert result.returncode == 0, result.output[-3000:]
        assert f"test_runs_sample_sql {named}" in result.output, result.output[-3000:]
        again = reliability.run_sample("-n", "2")
        if "statement_timeout" in statement:  # the next run names the cause of its failures
            assert "statement_timeout=1ms (role postgres default)" in again.output, again.output
            assert "could not set up" not in again.output
        else:
            assert again.returncode == 0, again.output[-3000:]
    finally:
        reliability.execute("postgres", undo)


def test_a_killed_runs_leftover_with_a_prepared_transaction_is_dropped_and_named(
    reliability, two_phase_server
):
    """A variant of scenario 5: the run is killed before the reset after the test that
    prepared a transaction. Before: the next run's sweep could not drop the leftover
    ('being used by prepared transactions') and named it on every run, for ever."""
    on_it = {
        "DATABASE_HOST": str(two_phase_server.socket_dir),
        "DATABASE_PORT": str(two_phase_server.port),
    }
    marker = reliability.marker()
    run = reliability.start_sample(SAMPLE_PAUSE="test", SAMPLE_MARKER=str(marker), **on_it)
    wait_for(marker)
    kill_group(run, signal.SIGKILL)
    (leftover,) = databases_on(two_phase_server.url())
    with admin_connection(two_phase_server.url(leftover)) as connection:
        connection.exec_driver_sql("BEGIN")
        connection.exec_driver_sql("CREATE TABLE held (id int)")
        connection.exec_driver_sql("PREPARE TRANSACTION 'left_by_a_killed_run'")
    again = reliability.run_sample(**on_it)
    assert again.returncode == 0, again.output
    assert "prepared transaction 'left_by_a_killed_run'" in again.output, again.output
    assert databases_on(two_phase_server.url()) == []
    with admin_connection(two_phase_server.url()) as connection:
        assert connection.scalar(text("SELECT count(*) FROM pg_prepared_xacts")) == 0
