"""Scenario 6: bad configuration gives one clear message and never a password."""

import contextlib
import socket
import sys
import time

import pytest

from pytest_flask_pgdb.databases.server import CONNECTIONS_PER_WORKER
from pytest_flask_pgdb.settings import (
    CLEANUP_SETTING,
    LOCK_WAIT_SETTING,
    SERVER_SETTING,
    TEST_DATABASE_URL,
)
from tests.reliability.harness import APP_PASSWORD, APP_USER, NO_CREATEDB_USER, server_with

# Bad input touches no data either, and leaves nothing (not even a kept database that
# would stand in the next test's way).
pytestmark = pytest.mark.usefixtures("developer_data_is_untouched")

SECRET = "Hunter2-Secret"

# (id, config.yaml text or None, environment, what the message must say)
CASES = [
    ("malformed-yaml", "database:\n  host: [oops\n", {}, "config.yaml: invalid YAML at line"),
    ("yaml-not-mapping", "- just\n- a list\n", {}, "top level must be a mapping"),
    ("section-not-mapping", "database: localhost\n", {}, "section 'database' must be a mapping"),
    ("unknown-setting", "database:\n  hots: x\n", {}, "unknown setting database.hots"),
    (
        "port-not-integer",
        None,
        {"DATABASE_PORT": "fivefour"},
        "DATABASE_PORT: database.port must be a whole number, got 'fivefour'",
    ),
    (
        "port-out-of-range",
        None,
        {"DATABASE_PORT": "99999"},
        "database.port must be between 1 and 65535",
    ),
    (
        "negative-pool-size",
        None,
        {"DATABASE_POOL_SIZE": "-4"},
        "database.pool_size must be between 1 and 1000, got -4",
    ),
    (
        "pool-timeout-not-integer",
        "database:\n  pool_timeout: soon\n",
        {},
        "database.pool_timeout must be a whole number, got 'soon'",
    ),
    (
        "password-wrong-type",
        f"database:\n  password: [{SECRET}]\n",
        {},
        "database.password must be a string",
    ),
    (
        "unknown-url-scheme",
        None,
        {TEST_DATABASE_URL: f"mysql://root:{SECRET}@127.0.0.1/x_test"},
        "TEST_DATABASE_URL uses the unsupported scheme 'mysql'",
    ),
    (
        "non-test-name",
        None,
        {TEST_DATABASE_URL: f"postgresql://postgres:{SECRET}@127.0.0.1/claude_headspace"},
        "TEST_DATABASE_URL names database 'claude_headspace', which is not a test database",
    ),
    (
        "url-without-database",
        None,
        {TEST_DATABASE_URL: f"postgresql://u:{SECRET}@127.0.0.1/"},
        "TEST_DATABASE_URL names no database",
    ),
    (
        "unreachable-port",
        None,
        {TEST_DATABASE_URL: f"postgresql://u:{SECRET}@127.0.0.1:1/x_test"},
        "no PostgreSQL server answers: tried the configured server at 127.0.0.1:1",
    ),
    (
        "unresolvable-host",
        None,
        {"DATABASE_HOST": "no-such-host.invalid"},
        "cannot resolve host 'no-such-host.invalid'",
    ),
    (
        "wrong-password",
        None,
        {"DATABASE_USER": APP_USER, "DATABASE_PASSWORD": SECRET},
        f'password authentication failed for user "{APP_USER}". Fix the user/password in '
        "config.yaml or DATABASE_HOST/PORT/USER/PASSWORD or TEST_DATABASE_URL",
    ),
    ("missing-user", None, {"DATABASE_USER": "nobody_here"}, 'role "nobody_here" does not exist'),
    (
        "no-createdb",
        None,
        {"DATABASE_USER": NO_CREATEDB_USER},
        "The user needs the CREATEDB privilege",
    ),
    (
        "unknown-server-mode",
        None,
        {SERVER_SETTING: "sometimes"},
        "TEST_DATABASE_SERVER='sometimes' is not one of auto, configured, private",
    ),
    (
        "unknown-cleanup",
        None,
        {CLEANUP_SETTING: "fast"},
        "TEST_DATABASE_CLEANUP='fast': the cleanup strategy must be one of",
    ),
    (
        "negative-lock-wait",
        None,
        {LOCK_WAIT_SETTING: "-3"},
        "TEST_DATABASE_LOCK_WAIT must be a number of seconds from 0 to 3600, got '-3'",
    ),
    # Waited forever before: nan and inf compare false with any deadline.
    ("lock-wait-nan", None, {LOCK_WAIT_SETTING: "nan"}, "from 0 to 3600, got 'nan'"),
    ("lock-wait-inf", None, {LOCK_WAIT_SETTING: "inf"}, "from 0 to 3600, got 'inf'"),
    ("name-too-long", None, {"DATABASE_NAME": "n" * 60}, "at most 63 bytes"),
    # Printed the URL, password included, hundreds of times before.
    (
        "url-port-not-numeric",
        None,
        {TEST_DATABASE_URL: f"postgresql://u:{SECRET}@127.0.0.1:abc/x_test"},
        "TEST_DATABASE_URL: the port must be a number from 1 to 65535, got 'abc'",
    ),
    (
        "url-renames-database",
        None,
        {TEST_DATABASE_URL: f"postgresql://u:{SECRET}@127.0.0.1/x_test?dbname=claude_headspace"},
        "has the query parameter 'dbname'",
    ),
    # Thousands of lines of UnicodeDecodeError / RecursionError before.
    ("binary-config", b"\x89PNG\r\n\x1a\n\x00binary", {}, "config.yaml: not UTF-8 text"),
    ("deeply-nested-config", "[" * 5000 + "]" * 5000, {}, "config.yaml: nested too deeply"),
]


@pytest.mark.parametrize(
    ("config", "env", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_configuration_gives_one_clear_message(reliability, tmp_path, config, env, expected):
    if isinstance(config, bytes):
        (reliability.workdir / "config.yaml").write_bytes(config)
    elif config is not None:
        (reliability.workdir / "config.yaml").write_text(config)
    try:
        result = reliability.run_sample("-k", "test_chain and 0", timeout=30, **env)
    finally:
        (reliability.workdir / "config.yaml").unlink(missing_ok=True)
    assert result.returncode != 0, result.output
    # Bounded: no retry loop, no hang. The machine's resolver is not ours to time, so a
    # host to look up adds what a lookup costs here (the run may look it up a few times).
    budget = 10 + 3 * lookup_seconds(env.get("DATABASE_HOST"))
    assert result.seconds < budget, f"took {result.seconds:.1f} s (budget {budget:.1f} s)"
    assert expected in result.output, result.output[-2000:]
    assert SECRET not in result.output
    assert APP_PASSWORD not in result.output
    assert "Traceback" not in result.output
    assert len(result.output.splitlines()) < 15, result.output


def lookup_seconds(host):
    """How long this machine's resolver takes to answer for ``host`` (0 for none)."""
    if not host or host.startswith("/"):
        return 0.0
    start = time.monotonic()
    with contextlib.suppress(OSError):
        socket.getaddrinfo(host, 5432)
    return time.monotonic() - start


# One of each kind: a setting, a server that refuses us, no server at all.
ONCE_UNDER_XDIST = ["lock-wait-nan", "wrong-password", "unreachable-port", "name-too-long"]


@pytest.mark.parametrize(
    ("config", "env", "expected"),
    [c[1:] for c in CASES if c[0] in ONCE_UNDER_XDIST],
    ids=[c[0] for c in CASES if c[0] in ONCE_UNDER_XDIST],
)
def test_setup_errors_are_reported_once_under_xdist(reliability, config, env, expected):
    """Before: once per worker, each pinned on a random test, with tracebacks."""
    result = reliability.run_sample("-n", "2", timeout=60, **env)
    assert result.returncode != 0
    assert result.output.count(expected) == 1, result.output
    assert "Traceback" not in result.output
    assert "ERROR at setup" not in result.output
    assert SECRET not in result.output


def test_worker_names_too_long_for_the_worker_count_are_refused_up_front(reliability):
    """A 63-byte test name works serially; with -n 2 its _gw1 would not fit."""
    name = "n" * 58  # + "_test" = 63 bytes
    assert reliability.run_sample("-k", "test_chain and 0", DATABASE_NAME=name).returncode == 0
    result = reliability.run_sample("-n", "2", DATABASE_NAME=name)
    assert result.returncode != 0
    assert result.output.count("with -n 2 the test database names reach") == 1, result.output
    assert "Traceback" not in result.output


def test_the_right_password_works(reliability):
    result = reliability.run_sample(
        "-k", "test_chain and 0", DATABASE_USER=APP_USER, DATABASE_PASSWORD=APP_PASSWORD
    )
    assert result.returncode == 0, result.output
    assert APP_PASSWORD not in result.output


@pytest.fixture
def small_server():
    """A server of its own with room for 8 connections."""
    with server_with(max_connections=8) as server:
        yield server


def test_too_many_clients_for_the_worker_count_is_one_message(reliability, small_server):
    """Before: 16,000 lines of 'too many clients' and no summary."""
    result = reliability.run_sample(
        "-n", "4", DATABASE_HOST=str(small_server.socket_dir), DATABASE_PORT=str(small_server.port)
    )
    assert result.returncode != 0
    assert result.output.count("too many clients") == 1, result.output[-3000:]
    assert f"-n 4 needs about {4 * CONNECTIONS_PER_WORKER} connections" in result.output
    assert "max_connections" in result.output
    assert "Traceback" not in result.output
    assert len(result.output.splitlines()) < 15, result.output[-3000:]


def test_a_project_that_has_not_plugged_its_app_in_is_told_where(reliability, tmp_path):
    """Without a binding: the plugin's entry point loads it, and one message names the
    fixture to write."""
    (tmp_path / "test_needs_the_app.py").write_text("def test_it(pgdb_session):\n    pass\n")
    command = [sys.executable, "-m", "pytest", str(tmp_path), "-q", "--rootdir", str(tmp_path)]
    command += ["-p", "no:randomly", "-p", "no:cacheprovider"]
    result = reliability.run(command, reliability.env())
    assert result.returncode == 1, result.output
    assert (
        "pytest-flask-pgdb needs the 'pgdb_app_factory' fixture: define it in your conftest.py "
        "(scope='session') to return a callable pgdb_app_factory(database_url=...) -> Flask; "
        "see the pytest-flask-pgdb README ('Binding')"
    ) in result.output
    assert "Traceback" not in result.output
    assert not [name for name in reliability.databases() if name.endswith("_test")]
