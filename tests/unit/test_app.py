"""create_app and /health with the database layer mocked: up, down, never a password."""

import logging

import psycopg2
import pytest

from claude_headspace import __version__, create_app
from pytest_flask_pgdb.blocker import DatabaseAccessBlocked

PASSWORD = "s3cret-Pa55"


@pytest.fixture
def server_down(monkeypatch):
    """The driver answers like a stopped server (the blocker would refuse otherwise)."""

    def refuse(*_args, **_kwargs):
        raise psycopg2.OperationalError(
            'connection to server at "127.0.0.1", port 5432 failed: Connection refused\n'
            "\tIs the server running on that host and accepting TCP/IP connections?"
        )

    monkeypatch.setattr(psycopg2, "connect", refuse)


@pytest.fixture
def app_without_database(monkeypatch):
    monkeypatch.setattr("claude_headspace.app.verify_database_connection", lambda app: True)
    return create_app(testing=True)


def test_app_starts_with_database_down_and_reports_degraded(server_down, monkeypatch, caplog):
    monkeypatch.setenv("DATABASE_PASSWORD", PASSWORD)
    with caplog.at_level(logging.INFO, logger="claude_headspace"):
        app = create_app()
    response = app.test_client().get("/health")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["database"] == "disconnected"
    assert body["version"] == __version__
    assert body["database_error"].startswith("OperationalError: connection to server")
    assert "Connection refused" in body["database_error"]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        "Database connection failed: host=localhost port=5432 database=claude_headspace "
        'error=OperationalError: connection to server at "127.0.0.1", port 5432 failed: '
        "Connection refused"
    ]
    assert PASSWORD not in caplog.text
    assert PASSWORD not in response.get_data(as_text=True)


def test_health_connected(app_without_database, monkeypatch):
    monkeypatch.setattr(
        "claude_headspace.routes.health.check_database_health", lambda: (True, None)
    )
    response = app_without_database.test_client().get("/health")
    assert response.get_json() == {
        "status": "healthy",
        "version": __version__,
        "database": "connected",
    }


def test_health_disconnected(app_without_database, monkeypatch):
    monkeypatch.setattr(
        "claude_headspace.routes.health.check_database_health",
        lambda: (False, "OperationalError: timeout expired"),
    )
    response = app_without_database.test_client().get("/health")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "degraded",
        "version": __version__,
        "database": "disconnected",
        "database_error": "OperationalError: timeout expired",
    }


def test_engine_options_come_from_config(app_without_database):
    options = app_without_database.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options == {
        "pool_size": 10,
        "pool_timeout": 30,
        "pool_recycle": 3600,
        "pool_pre_ping": True,
        "connect_args": {"connect_timeout": 5},
    }


def test_explicit_database_url_wins(monkeypatch):
    monkeypatch.setattr("claude_headspace.app.verify_database_connection", lambda app: True)
    monkeypatch.setenv("DATABASE_URL", "postgresql://dev@h/claude_headspace")
    app = create_app(database_url="postgresql+psycopg2://t@h/claude_headspace_test")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("/claude_headspace_test")


def test_unit_tests_cannot_reach_a_database():
    with pytest.raises(DatabaseAccessBlocked, match=r"Move it to tests/integration/"):
        create_app()


def test_raw_driver_connections_are_blocked_too():
    with pytest.raises(DatabaseAccessBlocked, match="not allowed in unit tests"):
        psycopg2.connect("dbname=postgres")


def test_bad_config_is_one_line_from_the_flask_cli(monkeypatch):
    from click.testing import CliRunner
    from flask.cli import cli

    monkeypatch.setenv("DATABASE_PORT", "abc")
    result = CliRunner().invoke(cli, ["--app", "claude_headspace", "db", "current"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "Error: environment variable DATABASE_PORT: database.port must be a whole number, "
        "got 'abc'."
    )


def test_bad_config_is_one_line_from_python_m(monkeypatch, capsys):
    from claude_headspace.__main__ import main

    monkeypatch.setenv("DATABASE_POOL_SIZE", "-1")
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "Error: environment variable DATABASE_POOL_SIZE: database.pool_size must be between "
        "1 and 1000, got -1."
    )
