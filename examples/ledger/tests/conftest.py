"""ledger's test fixtures, on pytest-flask-pgdb.

Before the plugin, this file made one fixed ``ledger_test`` database and wrapped every
test in a transaction rolled back at the end (docs/adopting.md shows it). Now each
xdist worker has a database of its own, emptied after every test.
"""

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import ledger
from ledger.models import db

# -- pytest-flask-pgdb glue: these lines exist only to bind the plugin ---------------
from pytest_flask_pgdb import AppDatabase, factory_from_environment


def pytest_pgdb_app_database(config, environ):
    """ledger's own database, which the tests never touch."""
    source = "DATABASE_URL" if environ.get("DATABASE_URL") else "ledger's default URL"
    return AppDatabase(url=make_url(ledger.database_url(environ)), source=source)


@pytest.fixture(scope="session")
def pgdb_metadata():
    return db.metadata


@pytest.fixture(scope="session")
def pgdb_app_factory():
    return factory_from_environment(lambda: ledger.create_app(testing=True))


@pytest.fixture(scope="session")
def pgdb_migrations_directory():
    return Path(__file__).resolve().parents[1] / "migrations"


# -- end of the glue ------------------------------------------------------------------


@pytest.fixture
def app(pgdb_app, pgdb_clean):
    """The app, in an app context; every table is emptied after the test."""
    return pgdb_app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db_session(app):
    return db.session
