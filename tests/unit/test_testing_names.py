"""Test database names: derivation, workers, labels, and the guard (no database)."""

import pytest

from claude_headspace.config import ConfigError
from claude_headspace.testing.errors import UnsafeDatabaseError
from claude_headspace.testing.names import (
    base_test_url,
    current_worker,
    is_test_database_name,
    require_test_name,
    url_for_test_database,
)


def test_default_name_is_the_app_name_with_test_suffix():
    url = url_for_test_database()
    assert url.database == "claude_headspace_test"
    assert (url.host, url.port, url.username) == ("localhost", 5432, "postgres")
    assert url.drivername == "postgresql+psycopg2"


def test_app_settings_feed_the_test_url_but_database_url_never_does(monkeypatch):
    monkeypatch.setenv("DATABASE_HOST", "db.internal")
    monkeypatch.setenv("DATABASE_NAME", "headspace")
    monkeypatch.setenv("DATABASE_PASSWORD", "pw")
    monkeypatch.setenv("DATABASE_URL", "postgresql://dev@devhost/claude_headspace")
    url = url_for_test_database()
    assert (url.host, url.database, url.password) == ("db.internal", "headspace_test", "pw")


def test_test_database_url_wins(monkeypatch):
    monkeypatch.setenv("DATABASE_NAME", "ignored")
    monkeypatch.setenv("TEST_DATABASE_URL", "postgres://t:pw@tdb:6000/mine_test")
    assert base_test_url().render_as_string(hide_password=False) == (
        "postgresql+psycopg2://t:pw@tdb:6000/mine_test"
    )


@pytest.mark.parametrize(
    ("worker", "label", "expected"),
    [
        (None, None, "claude_headspace_test"),
        ("gw0", None, "claude_headspace_test_gw0"),
        ("gw11", None, "claude_headspace_test_gw11"),
        (None, "migrations", "claude_headspace_migrations_test"),
        ("gw1", "models", "claude_headspace_models_test_gw1"),
    ],
)
def test_worker_and_label_names(worker, label, expected):
    assert url_for_test_database(worker=worker, label=label).database == expected


def test_current_worker_reads_xdist(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    assert current_worker() is None
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    assert current_worker() == "gw3"
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "master; DROP DATABASE x")
    assert current_worker() is None


@pytest.mark.parametrize(
    "name",
    ["claude_headspace_test", "x_test_gw0", "a_b_test_gw12", "claude_headspace_migrations_test"],
)
def test_test_names(name):
    assert is_test_database_name(name)
    assert require_test_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "claude_headspace",
        "postgres",
        "template1",
        "test",
        "_test",
        "claude_headspace_testing",
        "claude_headspace_test_gw",
        "claude_headspace_test_main",
        "Claude_Headspace_test",
        "x" * 60 + "_test",
        "",
        None,
    ],
)
def test_everything_else_is_refused(name):
    assert not is_test_database_name(name)
    with pytest.raises(UnsafeDatabaseError, match="is not a test database"):
        require_test_name(name, "drop")


def test_non_test_test_database_url_is_a_config_error(monkeypatch):
    monkeypatch.setenv("TEST_DATABASE_URL", "postgresql://u:hunter2@h/claude_headspace")
    with pytest.raises(ConfigError) as err:
        base_test_url()
    message = str(err.value)
    assert "TEST_DATABASE_URL names database 'claude_headspace'" in message
    assert "claude_headspace_test" in message
    assert "hunter2" not in message


def test_too_long_derived_name_is_refused(monkeypatch):
    monkeypatch.setenv("DATABASE_NAME", "n" * 58)
    with pytest.raises(UnsafeDatabaseError, match="at most 63 characters"):
        url_for_test_database(worker="gw0")
