"""The test-database lifecycle itself: stale leftovers, live runs, cleanup end state."""

import os

import pytest
from sqlalchemy import text

from claude_headspace.database import db
from claude_headspace.testing.cleanup import STRATEGIES, DatabaseCleaner, leftovers
from claude_headspace.testing.databases import (
    LOCK_NAMESPACE,
    TestDatabase,
    autocommit_connection,
    autocommit_engine,
)
from claude_headspace.testing.errors import DatabaseInUseError
from claude_headspace.testing.names import url_for_test_database
from tests.integration.factories import ObjectiveHistoryFactory, TurnFactory


def name_for(label, worker):
    return url_for_test_database(label=f"{label}{os.getpid()}", worker=worker).database


def existing(server, pattern):
    with autocommit_connection(server.maintenance_url) as connection:
        return connection.scalars(
            text("SELECT datname FROM pg_database WHERE datname LIKE :p ORDER BY 1"),
            {"p": pattern},
        ).all()


@pytest.fixture
def admin(test_server):
    with autocommit_connection(test_server.maintenance_url) as connection:
        yield connection


def test_stale_siblings_of_dead_runs_are_dropped_and_live_ones_kept(test_server, admin):
    stale, live = name_for("sweep", "gw7"), name_for("sweep", "gw8")
    admin.execute(text(f"CREATE DATABASE {stale}"))
    admin.execute(text(f"CREATE DATABASE {live}"))
    holder = autocommit_engine(test_server.maintenance_url).connect()  # a "live run"
    holder.execute(
        text("SELECT pg_advisory_lock(:ns, hashtext(:n))"), {"ns": LOCK_NAMESPACE, "n": live}
    )
    database = TestDatabase(test_server, name_for("sweep", "gw0"))
    try:
        database.setup()
        family = existing(test_server, f"%sweep{os.getpid()}%")
        assert family == sorted([database.name, live])
    finally:
        database.teardown()
        holder.close()
        admin.execute(text(f"DROP DATABASE IF EXISTS {live}"))
    assert existing(test_server, f"%sweep{os.getpid()}%") == []


def test_a_database_held_by_a_live_run_is_never_dropped(test_server, monkeypatch):
    monkeypatch.setenv("TEST_DATABASE_LOCK_WAIT", "0.5")
    first = TestDatabase(test_server, name_for("held", None))
    first.setup(db.metadata)
    try:
        second = TestDatabase(test_server, first.name)
        with pytest.raises(DatabaseInUseError) as err:
            second.setup(db.metadata)
        message = str(err.value)
        assert f"test database '{first.name}'" in message
        assert "in use by another live test run" in message
        assert "TEST_DATABASE_URL" in message
        assert existing(test_server, first.name) == [first.name]  # still there
    finally:
        first.teardown()
    assert existing(test_server, first.name) == []


def test_teardown_drops_even_with_connections_open(test_server):
    database = TestDatabase(test_server, name_for("open", None))
    database.setup(db.metadata)
    engine = autocommit_engine(database.url)
    connection = engine.connect()
    connection.execute(text("BEGIN; SELECT count(*) FROM projects"))  # idle in transaction
    database.teardown()
    assert existing(test_server, database.name) == []
    engine.dispose()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_both_strategies_reach_the_truncate_state_and_touch_nothing_else(test_database, strategy):
    with autocommit_connection(test_database.url) as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num text)"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('0006')"))
        connection.execute(text("CREATE SCHEMA other; CREATE TABLE other.keep (id serial)"))
        connection.execute(text("INSERT INTO other.keep DEFAULT VALUES"))
        try:
            TurnFactory.create_batch(3)
            ObjectiveHistoryFactory()
            connection.execute(text("SELECT setval('events_id_seq', 99)"))
            connection.execute(
                text("INSERT INTO objectives (id, current_text) VALUES (77, 'explicit id')")
            )
            db.session.remove()
            assert leftovers(connection, db.metadata)
            report = DatabaseCleaner(connection, db.metadata, strategy).clean()
            assert report.leaked == []
            assert leftovers(connection, db.metadata) == {}
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0006"
            assert connection.scalar(text("SELECT count(*) FROM other.keep")) == 1
            assert TurnFactory().id == 1
        finally:
            connection.execute(text("DROP TABLE alembic_version; DROP SCHEMA other CASCADE"))


def test_cleaners_of_both_strategies_can_share_a_connection(test_database):
    """Each strategy keeps its own function: TRUNCATE swaps the table's file, DELETE not."""
    with autocommit_connection(test_database.url) as connection:
        cleaners = {s: DatabaseCleaner(connection, db.metadata, s) for s in STRATEGIES}

        def projects_file():
            return connection.scalar(text("SELECT pg_relation_filenode('projects')"))

        before = projects_file()
        cleaners["delete"].clean()
        assert projects_file() == before
        cleaners["truncate"].clean()
        assert projects_file() != before
