"""Schema parity: databases built by the migrations and by the models, side by side."""

from pathlib import Path

import pytest
from sqlalchemy.engine import Connection

import claude_headspace.models  # noqa: F401  -- every table on db.metadata
from claude_headspace.database import db
from pytest_flask_pgdb import parity
from pytest_flask_pgdb.databases.connections import admin_engine
from pytest_flask_pgdb.databases.lifecycle import TestDatabase
from pytest_flask_pgdb.parity.compare import Schema


@pytest.fixture(scope="session")
def migrated_database(pgdb_migrated_database) -> TestDatabase:
    """Upgraded to head through the real Flask-Migrate history (a clone of the template
    built when the migration files last changed)."""
    return pgdb_migrated_database


@pytest.fixture(scope="session")
def models_database(pgdb_make_database) -> TestDatabase:
    """Empty database built with ``db.metadata.create_all``, as integration tests do."""
    database = pgdb_make_database("models")
    database.build_schema(db.metadata)
    return database


@pytest.fixture(scope="session")
def pg_dump(migrated_database, pgdb_settings) -> Path | None:
    """The backstop's ``pg_dump`` (the server's major version), or None if there is none."""
    return parity.matching_pg_dump(migrated_database.url, pgdb_settings.pg_bindir)


@pytest.fixture(scope="session")
def migrated_schema(migrated_database, pg_dump) -> Schema:
    return parity.read_schema(migrated_database.url, pg_dump)


@pytest.fixture(scope="session")
def models_schema(models_database, pg_dump) -> Schema:
    return parity.read_schema(models_database.url, pg_dump)


@pytest.fixture
def models_connection(models_database) -> Connection:
    """A transaction on the models database that is always rolled back (for drift)."""
    engine = admin_engine(models_database.url).execution_options(isolation_level="READ COMMITTED")
    connection = engine.connect()
    transaction = connection.begin()
    yield connection
    transaction.rollback()
    connection.close()
    engine.dispose()
