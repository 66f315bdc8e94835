"""Scenario 6: bad configuration gives one clear message and never a password."""

import pytest

from claude_headspace.testing.settings import (
    CLEANUP_SETTING,
    LOCK_WAIT_SETTING,
    SERVER_SETTING,
    TEST_DATABASE_URL,
)
from tests.reliability.harness import APP_PASSWORD, APP_USER, NO_CREATEDB_USER

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
        f'password authentication failed for user "{APP_USER}"',
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
        "TEST_DATABASE_LOCK_WAIT must be a number of seconds (0 or more), got '-3'",
    ),
    ("name-too-long", None, {"DATABASE_NAME": "n" * 60}, "at most 63 characters"),
]


@pytest.mark.parametrize(
    ("config", "env", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_configuration_gives_one_clear_message(reliability, tmp_path, config, env, expected):
    if config is not None:
        (reliability.workdir / "config.yaml").write_text(config)
    try:
        result = reliability.run_sample("-k", "test_chain and 0", timeout=30, **env)
    finally:
        (reliability.workdir / "config.yaml").unlink(missing_ok=True)
    assert result.returncode != 0, result.output
    assert result.seconds < 10, f"took {result.seconds:.1f} s"
    assert expected in result.output, result.output[-2000:]
    assert SECRET not in result.output
    assert APP_PASSWORD not in result.output
    assert "Traceback" not in result.output


def test_the_right_password_works(reliability):
    result = reliability.run_sample(
        "-k", "test_chain and 0", DATABASE_USER=APP_USER, DATABASE_PASSWORD=APP_PASSWORD
    )
    assert result.returncode == 0, result.output
    assert APP_PASSWORD not in result.output
