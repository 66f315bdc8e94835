"""The guard on live connections: names and marks, checked on what the server says.

Whole runs against a developer's databases are proved in tests/reliability.
"""

import pytest
from sqlalchemy import text

from claude_headspace.database import db
from pytest_flask_pgdb.databases.connections import admin_connection
from pytest_flask_pgdb.databases.guard import (
    Mark,
    database_exists_with_mark,
    require_own_connection,
)
from pytest_flask_pgdb.databases.lifecycle import TestDatabase
from pytest_flask_pgdb.errors import UnsafeDatabaseError
from pytest_flask_pgdb.reset.cleanup import DatabaseCleaner


@pytest.mark.parametrize("name", ["claude_headspace", "postgres", "prod", "test", "x_testing"])
def test_guard_refuses_to_create_or_drop_a_non_test_name(pgdb_server, name):
    with pytest.raises(UnsafeDatabaseError, match=f"refusing to use database '{name}'"):
        TestDatabase(pgdb_server, name, run="r", project="claude_headspace")


def test_guard_checks_the_live_connection_not_the_setting(pgdb_server, pgdb_database):
    with (
        admin_connection(pgdb_server.maintenance_url) as connection,  # really 'postgres'
        pytest.raises(UnsafeDatabaseError, match="refusing to clean database 'postgres'"),
    ):
        DatabaseCleaner(connection, db.metadata, "delete", run=pgdb_database.run)


def test_the_worker_database_carries_this_runs_mark(pgdb_server, pgdb_database):
    with admin_connection(pgdb_server.maintenance_url) as connection:
        exists, mark = database_exists_with_mark(connection, pgdb_database.name)
        comment = connection.scalar(
            text(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n"
            ),
            {"n": pgdb_database.name},
        )
    assert exists
    assert mark is not None
    assert mark.run == pgdb_database.run
    assert Mark.parse(comment) == mark


@pytest.mark.parametrize("other_run", ["0", "~"])  # sorts before / after any run id (hex)
def test_the_live_guard_refuses_a_database_another_run_marked(pgdb_database, other_run):
    with admin_connection(pgdb_database.url) as connection:
        with pytest.raises(UnsafeDatabaseError, match="it belongs to another test run"):
            require_own_connection(connection, other_run, "clean")
        assert require_own_connection(connection, pgdb_database.run, "clean") == (
            pgdb_database.name
        )
