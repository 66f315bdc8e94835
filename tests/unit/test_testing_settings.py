"""TestSettings: every test setting read and checked once, with one clear message."""

import math
from pathlib import Path

import pytest

from pytest_flask_pgdb.settings import (
    DEFAULT_LOCK_WAIT_SECONDS,
    SettingsError,
    TestSettings,
    read_settings,
)
from tests.plugin_binding import app_database

SECRET = "hunter2-S3cret"


def read(env, config_path=None, **options):
    """The plugin's settings as our app's binding (tests/plugin_binding.py) feeds them."""
    return read_settings(env, app_database=app_database(env, config_path), **options)


def settings(env=None, **options):
    return read(env or {}, **options)


def refused(env, match, **options):
    with pytest.raises(SettingsError, match=match) as err:
        read(env, **options)
    assert SECRET not in err.value.message
    assert "\n" not in err.value.message
    return err.value.message


def test_defaults():
    s = settings()
    assert s.test_url.database == "claude_headspace_test"
    assert (s.test_url.host, s.test_url.port, s.test_url.username) == (
        "localhost",
        5432,
        "postgres",
    )
    assert s.test_url.drivername == "postgresql+psycopg2"
    assert (s.server_mode, s.cleanup, s.lock_wait, s.pg_bindir, s.workers) == (
        "auto",
        "delete",
        DEFAULT_LOCK_WAIT_SECONDS,
        None,
        0,
    )
    assert not s.explicit_test_url
    assert (s.app_database, s.app_database_source) == (
        "claude_headspace",
        "the default database.name",
    )


def test_app_settings_feed_the_test_url_but_database_url_never_does():
    s = settings(
        {
            "DATABASE_HOST": "db.internal",
            "DATABASE_NAME": "headspace",
            "DATABASE_PASSWORD": "pw",
            "DATABASE_URL": "postgresql://dev@devhost/claude_headspace",
        }
    )
    assert (s.test_url.host, s.test_url.database, s.test_url.password) == (
        "db.internal",
        "headspace_test",
        "pw",
    )
    assert (s.app_database, s.app_database_source) == ("claude_headspace", "DATABASE_URL")


def test_test_database_url_wins_and_is_pinned_to_psycopg2():
    s = settings(
        {"DATABASE_NAME": "ignored", "TEST_DATABASE_URL": "postgres://t:pw@tdb:6000/m_test"}
    )
    assert s.test_url.render_as_string(hide_password=False) == (
        "postgresql+psycopg2://t:pw@tdb:6000/m_test"
    )
    assert s.explicit_test_url


def test_a_socket_directory_host_is_kept_in_the_query():
    s = settings({"DATABASE_HOST": "/var/run/postgresql", "DATABASE_PORT": "5433"})
    assert dict(s.test_url.query) == {"host": "/var/run/postgresql", "port": "5433"}
    assert s.test_url.database == "claude_headspace_test"


def test_settings_survive_the_trip_to_xdist_workers():
    s = settings(
        {
            "TEST_DATABASE_URL": "postgresql://u:p%40ss@h:5433/x_test",
            "TEST_DATABASE_PG_BINDIR": "/b",
        },
        workers=3,
    )
    again = TestSettings.from_wire(s.to_wire())
    assert again == s
    assert again.test_url.password == "p@ss"


@pytest.mark.parametrize(
    ("env", "match"),
    [
        # the developer's database named like a test database (seed 002's lesson)
        ({"DATABASE_URL": "postgresql://u@h/claude_headspace_test"}, "the app's own database"),
        (
            {
                "TEST_DATABASE_URL": f"postgresql://u:{SECRET}@h/claude_headspace_test",
                "DATABASE_URL": f"postgresql://u:{SECRET}@h/claude_headspace_test",
            },
            r"'claude_headspace_test' is the app's own database \(DATABASE_URL\)",
        ),
        (
            {"DATABASE_URL": "postgresql://u@h/claude_headspace_test_gw1"},
            "claude_headspace_test_gw1' is the app's own",
        ),
        (
            {"DATABASE_URL": "postgresql://u@h/claude_headspace_models_test"},
            "is the app's own",
        ),
        (
            {"DATABASE_URL": "postgresql://u@h/other?dbname=claude_headspace_test"},
            "is the app's own",
        ),
    ],
)
def test_the_app_database_is_never_a_test_database(env, match):
    refused(env, match)


def test_an_app_database_named_like_a_test_database_gets_its_own_test_database():
    s = settings({"DATABASE_NAME": "claude_headspace_test"})
    assert (s.app_database, s.test_url.database) == (
        "claude_headspace_test",
        "claude_headspace_test_test",
    )


def test_a_differently_named_test_database_is_fine_next_to_an_app_database_named_test():
    s = settings(
        {
            "DATABASE_URL": "postgresql://u@h/claude_headspace_test",
            "TEST_DATABASE_URL": "postgresql://u@h/claude_headspace_suite_test",
        }
    )
    assert s.test_url.database == "claude_headspace_suite_test"


@pytest.mark.parametrize(
    ("url", "match"),
    [
        (
            f"postgresql://u:{SECRET}@h:abc/x_test",
            "port must be a number from 1 to 65535, got 'abc'",
        ),
        (f"postgresql://u:{SECRET}@h:0/x_test", "got '0'"),
        (f"postgresql://u:{SECRET}@h:65536/x_test", "got '65536'"),
        (f"postgresql://u:{SECRET}@h:+5432/x_test", "got '\\+5432'"),
        (f"postgresql://u:{SECRET}@h:٥٤٣٢/x_test", "port must be a number"),
        (f"postgresql://u:{SECRET}@h/x_test?port=xyz", "got 'xyz'"),
        (f"postgresql://u:{SECRET}@h/x_test?dbname=claude_headspace", "query parameter 'dbname'"),
        (f"postgresql://u:{SECRET}@h/x_test?service=prod", "query parameter 'service'"),
        (f"mysql://u:{SECRET}@h/x_test", "unsupported scheme"),
        (f"postgresql://u:{SECRET}@h/claude_headspace", "not a test database"),
        (f"postgresql://u:{SECRET}@h/", "names no database"),
        ("not a url at all", "not a valid database URL"),
    ],
)
def test_bad_test_database_urls(url, match):
    refused({"TEST_DATABASE_URL": url}, match)


def test_ports_at_the_edges_are_accepted():
    for port in (1, 65535):
        s = settings({"TEST_DATABASE_URL": f"postgresql://u@h:{port}/x_test"})
        assert s.test_url.port == port


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-3", "3601", "soon", "1e309"])
def test_lock_wait_must_be_finite_and_bounded(value):
    message = refused({"TEST_DATABASE_LOCK_WAIT": value}, "TEST_DATABASE_LOCK_WAIT must be")
    assert "from 0 to 3600" in message


@pytest.mark.parametrize(("value", "expected"), [("0", 0.0), ("2.5", 2.5), ("3600", 3600.0)])
def test_lock_wait_values(value, expected):
    wait = settings({"TEST_DATABASE_LOCK_WAIT": value}).lock_wait
    assert wait == expected
    assert math.isfinite(wait)


def test_server_mode_and_cleanup_choices():
    s = settings({"TEST_DATABASE_SERVER": " Private ", "TEST_DATABASE_CLEANUP": "truncate"})
    assert (s.server_mode, s.cleanup) == ("private", "truncate")
    refused({"TEST_DATABASE_SERVER": "sometimes"}, "is not one of auto, configured, private")
    refused({"TEST_DATABASE_CLEANUP": "fast"}, "TEST_DATABASE_CLEANUP='fast'")


def test_cleanup_precedence_option_then_environment_then_ini():
    env = {"TEST_DATABASE_CLEANUP": "truncate"}
    assert settings(env, cleanup_option="delete", cleanup_ini="truncate").cleanup == "delete"
    assert settings(env, cleanup_ini="delete").cleanup == "truncate"
    assert settings({}, cleanup_ini="truncate").cleanup == "truncate"
    refused({}, "ini pgdb_cleanup='quick'", cleanup_ini="quick")


def test_bindir_must_be_an_absolute_path():
    assert settings({"TEST_DATABASE_PG_BINDIR": "/usr/lib/x/bin"}).pg_bindir == Path(
        "/usr/lib/x/bin"
    )
    refused({"TEST_DATABASE_PG_BINDIR": "relative/bin"}, "must be an absolute directory")


def test_worker_names_that_would_be_too_long_are_refused_up_front():
    name = "n" * 54  # + _test = 59 bytes; + _gw9 = 63 bytes; + _gw10 = 64 bytes
    assert settings({"DATABASE_NAME": name}, workers=10).workers == 10
    message = refused({"DATABASE_NAME": name}, "with -n 11", workers=11)
    assert "_gw10'" in message
    assert "by 1 or more characters" in message


def test_config_yaml_errors_become_one_settings_error(tmp_path):
    (tmp_path / "config.yaml").write_bytes(b"\xff\xfe binary")
    refused({}, "not UTF-8 text", config_path=str(tmp_path / "config.yaml"))
