"""The HTTP layer and the application factory against the real test database."""

import logging

from sqlalchemy import text

from claude_headspace import __version__, create_app
from claude_headspace.database import db


def test_health_reports_connected(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "healthy",
        "version": __version__,
        "database": "connected",
    }


def test_app_is_bound_to_this_workers_test_database(app, pgdb_database):
    assert db.session.execute(text("SELECT current_database()")).scalar() == pgdb_database.name


def test_an_app_built_by_code_under_test_reaches_the_test_database(pgdb_database, caplog):
    # DATABASE_URL points at the test database while tests run, so even code that
    # calls create_app() itself can never reach the developer's database.
    with caplog.at_level(logging.INFO, logger="claude_headspace"):
        own_app = create_app()
    with own_app.app_context():
        name = db.session.execute(text("SELECT current_database()")).scalar()
        db.session.remove()
        db.engine.dispose()
    assert name == pgdb_database.name
    assert "Database connected to postgresql://" in caplog.text
    assert f"/{pgdb_database.name}" in caplog.text


def test_health_degraded_when_the_database_is_unreachable(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres:hunter2@127.0.0.1:1/nowhere_test")
    degraded = create_app()
    body = degraded.test_client().get("/health").get_json()
    assert (body["status"], body["database"]) == ("degraded", "disconnected")
    assert "Connection refused" in body["database_error"]
    assert "hunter2" not in str(body)
