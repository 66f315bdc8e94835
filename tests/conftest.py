"""Where our app binds pytest-flask-pgdb: the one place that says "this is our app".

The plugin (installed from packages/pytest-flask-pgdb, loaded by its entry point) knows
the app only through what this file hands it (its README, "Binding").
"""

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import MetaData

from tests.plugin_binding import app_database


def pytest_pgdb_app_database(config, environ):
    """Our app's database: the tests never use it (DATABASE_URL, config.yaml, DATABASE_*)."""
    return app_database(environ)


@pytest.fixture(scope="session")
def pgdb_metadata() -> MetaData:
    """Every table of the app: each test database's schema is built from this."""
    import claude_headspace.models  # noqa: F401  -- registers the tables on db.metadata
    from claude_headspace.database import db

    return db.metadata


@pytest.fixture(scope="session")
def pgdb_app_factory() -> Callable[..., Flask]:
    """The app, built for a test database: ``pgdb_app_factory(database_url=...)``."""
    from claude_headspace import create_app

    return partial(create_app, testing=True)


@pytest.fixture(scope="session")
def pgdb_migrations_directory() -> Path:
    """The app's Flask-Migrate history."""
    from claude_headspace.app import migrations_directory

    return migrations_directory()


# Our tests' own names for the plugin's fixtures.
@pytest.fixture(scope="session")
def app(pgdb_app):
    return pgdb_app


@pytest.fixture
def client(pgdb_client):
    return pgdb_client


@pytest.fixture
def db_session(pgdb_session):
    return pgdb_session
