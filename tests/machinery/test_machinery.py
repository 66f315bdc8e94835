"""The test-database lifecycle itself: abandoned databases, live runs, claims, cleanup.

Every database made here goes through TestDatabase, so it carries the mark: if this
process dies mid-test, the next run drops what it left.
"""

import os
import re
import threading
import time
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from claude_headspace.database import db
from pytest_flask_pgdb.databases.connections import admin_connection
from pytest_flask_pgdb.databases.lifecycle import (
    _CONNECTION_LIMIT,
    TestDatabase,
    drop_abandoned,
    marked_databases,
    try_lock,
    unlock,
)
from pytest_flask_pgdb.databases.names import url_for_test_database
from pytest_flask_pgdb.databases.server import CONNECTIONS_PER_WORKER
from pytest_flask_pgdb.errors import (
    DatabaseInUseError,
    TestDatabaseError,
    UnownedDatabaseError,
    UnsafeDatabaseError,
)
from pytest_flask_pgdb.reset.cleanup import DatabaseCleaner, leftovers
from pytest_flask_pgdb.settings import CLEANUP_STRATEGIES
from tests.integration.factories import ObjectiveHistoryFactory, ProjectFactory, TurnFactory


@pytest.fixture
def name_for(pgdb_settings):
    def name(label, worker=None):
        return url_for_test_database(
            pgdb_settings.test_url, label=f"{label}{os.getpid()}", worker=worker
        ).database

    return name


@pytest.fixture
def lifecycle(pgdb_server, pgdb_settings):
    """TestDatabase objects of other (pretend) runs, torn down whatever happens."""
    made = []

    def make(name, run=None, **options):
        options.setdefault("project", pgdb_settings.project)
        database = TestDatabase(pgdb_server, name, run=run or uuid.uuid4().hex, **options)
        made.append(database)
        return database

    yield make
    for database in made:
        database.teardown()


def existing(server, pattern):
    with admin_connection(server.maintenance_url) as connection:
        return connection.scalars(
            text("SELECT datname FROM pg_database WHERE datname LIKE :p ORDER BY 1"),
            {"p": pattern},
        ).all()


def end_session(server, pid, database=None):
    """The run of ``pid`` dies; with ``database``, also wait until the connections it
    closed into it have exited (a busy server shows them for a moment: the sweep then
    rightly passes the database by, and the next run's sweep drops it)."""
    with admin_connection(server.maintenance_url) as connection:
        assert connection.scalar(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        on = text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name")
        deadline = time.monotonic() + 10
        while database and connection.scalar(on, {"name": database}):
            assert time.monotonic() < deadline, f"sessions stay on {database}"
            time.sleep(0.02)


def test_abandoned_databases_are_dropped_and_live_ones_kept(pgdb_server, lifecycle, name_for):
    crashed = lifecycle(name_for("sweep", "gw7"))
    crashed.setup()
    end_session(pgdb_server, crashed.claim_pid, crashed.name)  # its run died: claim gone
    live = lifecycle(name_for("sweep", "gw8"))
    live.setup()
    made = [live]  # its setup swept
    # A run beside this one may hold gw7's lock for a moment to look at it
    # (marked_databases): that sweep passes it by, the next run's setup sweeps it.
    while crashed.name in existing(pgdb_server, crashed.name) and len(made) < 10:
        made.append(lifecycle(name_for("sweep", f"gw{len(made) + 10}")))
        made[-1].setup()
    expected = sorted(database.name for database in made)
    assert existing(pgdb_server, f"%sweep{os.getpid()}%") == expected


def test_the_sweep_leaves_another_projects_abandoned_databases(
    pgdb_server, pgdb_settings, lifecycle, name_for
):
    """One shared server, two projects: each run sweeps only its own project's leftovers."""
    # Named per process: the same test in a run beside this one sweeps its own "another".
    another = f"another_project_{os.getpid()}"
    theirs = lifecycle(name_for("theirs"), project=another)
    theirs.setup()
    end_session(pgdb_server, theirs.claim_pid)  # their run died
    ours = lifecycle(name_for("ours"))
    ours.setup()
    end_session(pgdb_server, ours.claim_pid)  # and so did one of ours
    with admin_connection(pgdb_server.maintenance_url) as connection:
        # Ours goes: swept by us, or by another worker of this run that sweeps meanwhile
        # (holding its lock while it drops it, so that our sweep passes it by).
        deadline = time.monotonic() + 10
        while existing(pgdb_server, ours.name) and time.monotonic() < deadline:
            assert theirs.name not in drop_abandoned(connection, pgdb_settings.project)
            time.sleep(0.05)
        assert existing(pgdb_server, ours.name) == []
        assert existing(pgdb_server, theirs.name) == [theirs.name]
        assert theirs.name in drop_abandoned(connection, another)
    assert existing(pgdb_server, theirs.name) == []


def test_a_database_held_by_a_live_run_is_never_dropped(pgdb_server, lifecycle, name_for):
    first = lifecycle(name_for("held"))
    first.setup(db.metadata)
    second = lifecycle(first.name, lock_wait=0.5)
    with pytest.raises(DatabaseInUseError) as err:
        second.setup(db.metadata)
    message = str(err.value)
    assert f"test database '{first.name}'" in message
    assert "in use by another live test run" in message
    assert "TEST_DATABASE_URL" in message
    assert existing(pgdb_server, first.name) == [first.name]  # still there


def test_a_database_with_sessions_is_not_taken_even_when_its_lock_is_free(
    pgdb_server, lifecycle, name_for
):
    """A run whose claim was lost may still be using its database: not dropped."""
    first = lifecycle(name_for("busy"))
    first.setup(db.metadata)
    with admin_connection(first.url) as user:
        end_session(pgdb_server, first.claim_pid)
        second = lifecycle(first.name, lock_wait=0.3)
        with pytest.raises(DatabaseInUseError) as err:
            second.setup(db.metadata)
        assert user.scalar(text("SELECT count(*) FROM projects")) == 0  # still connected
    # It says which test database to run under instead: another one, on the same server.
    suggested = make_url(re.search(r"e\.g\. (\S+)\.$", str(err.value)).group(1))
    assert suggested.database != first.name
    assert suggested.database.endswith("_test")
    assert (suggested.host, suggested.port) == (first.url.host, first.url.port)


def test_a_run_waiting_for_a_busy_name_lets_go_of_it_between_looks(
    pgdb_server, lifecycle, name_for
):
    """The run still on the database (its claim lost) must be able to take the name back
    while another waits for it: the waiting run holds its lock only to look."""
    first = lifecycle(name_for("waited"))
    first.setup(db.metadata)
    with admin_connection(first.url):  # on it: the name is busy
        end_session(pgdb_server, first.claim_pid)
        second = lifecycle(first.name, lock_wait=3)

        def wait():
            with pytest.raises(DatabaseInUseError):
                second.setup()

        waiting = threading.Thread(target=wait)
        waiting.start()
        taken = False
        with admin_connection(pgdb_server.maintenance_url) as other:
            deadline = time.monotonic() + 2
            while not taken and time.monotonic() < deadline:
                time.sleep(0.05)
                taken = waiting.is_alive() and try_lock(other, first.name)
            if taken:
                unlock(other, first.name)
        waiting.join(10)
    assert taken, "the waiting run held the name's lock all along"


def test_teardown_drops_even_with_connections_open(pgdb_server, lifecycle, name_for):
    database = lifecycle(name_for("open"))
    database.setup(db.metadata)
    with admin_connection(database.url) as connection:
        connection.execute(text("BEGIN; SELECT count(*) FROM projects"))  # idle in transaction
        database.teardown()
    assert existing(pgdb_server, database.name) == []


def test_teardown_after_a_lost_claim_drops_only_if_it_can_claim_again(
    pgdb_server, lifecycle, name_for
):
    database = lifecycle(name_for("lost"))
    database.setup()
    end_session(pgdb_server, database.claim_pid)
    database.teardown()  # nobody took it: claimed again, dropped
    assert existing(pgdb_server, database.name) == []


def test_teardown_after_a_lost_claim_closes_the_connection_that_held_it(
    pgdb_server, lifecycle, name_for
):
    """The recovery path connects again: the ended connection is closed first, not left
    to the garbage collector (its socket and the client's state would linger)."""
    database = lifecycle(name_for("closes"))
    database.setup()
    held = database._admin  # the claim's connection: what the server ends below
    end_session(pgdb_server, database.claim_pid)
    database.teardown()
    assert held is not None
    assert held.closed
    assert existing(pgdb_server, database.name) == []


def test_a_marked_database_is_abandoned_only_if_nobody_holds_it_nor_is_on_it(
    pgdb_server, lifecycle, name_for
):
    # Of a project of their own (per process: the same test in a run beside this one sets
    # up its own): no other sweep drops the crashed one meanwhile.
    project = f"abandon_probe_{os.getpid()}"
    crashed, live, in_use = (
        lifecycle(name_for(label), project=project) for label in ("gone", "live", "used")
    )
    for database in (crashed, live, in_use):
        database.setup()
    end_session(pgdb_server, crashed.claim_pid)
    with admin_connection(in_use.url):  # its run lost the claim but still uses it
        end_session(pgdb_server, in_use.claim_pid)
        with admin_connection(pgdb_server.maintenance_url) as connection:
            listing = marked_databases(connection, project)
            abandoned = {name: flag for name, _, flag in listing}
            # Looking took each lock for a moment only: a sweep beside it can take them.
            with admin_connection(pgdb_server.maintenance_url) as sweeper:
                assert try_lock(sweeper, crashed.name)
    assert {mark.project for _, mark, _ in listing} == {project}  # that project's only
    assert abandoned[crashed.name] is True
    assert abandoned[live.name] is False
    assert abandoned[in_use.name] is False


def test_the_claim_connection_ignores_server_side_timeouts(pgdb_server, lifecycle, name_for):
    database = lifecycle(name_for("timeouts"))
    database.setup()
    with admin_connection(pgdb_server.maintenance_url) as connection:
        settings = connection.execute(
            text(
                "SELECT name, setting FROM pg_settings WHERE name IN ('statement_timeout', "
                "'lock_timeout', 'idle_in_transaction_session_timeout')"
            )
        ).all()
    assert {value for _, value in settings} == {"0"}


def test_cleaner_reports_a_lost_claim(pgdb_server, lifecycle, name_for):
    database = lifecycle(name_for("claim"))
    database.setup(db.metadata)
    with admin_connection(database.url) as connection:
        cleaner = DatabaseCleaner(
            connection, db.metadata, "delete", run=database.run, claim_pid=database.claim_pid
        )
        assert cleaner.clean().claim_lost is False
        end_session(pgdb_server, database.claim_pid)
        assert cleaner.clean().claim_lost is True


def test_cleaner_refuses_a_database_of_another_run(pgdb_database, lifecycle, name_for):
    other = lifecycle(name_for("other"))
    other.setup(db.metadata)
    with (
        admin_connection(other.url) as connection,
        pytest.raises(UnsafeDatabaseError, match="belongs to another test run"),
    ):
        DatabaseCleaner(connection, db.metadata, "delete", run=pgdb_database.run)


@pytest.mark.parametrize("strategy", CLEANUP_STRATEGIES)
def test_both_strategies_reach_the_truncate_state_and_touch_nothing_else(pgdb_database, strategy):
    with admin_connection(pgdb_database.url) as connection:
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
            cleaner = DatabaseCleaner(connection, db.metadata, strategy, run=pgdb_database.run)
            report = cleaner.clean()
            assert report.leaked == []
            assert leftovers(connection, db.metadata) == {}
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0006"
            assert connection.scalar(text("SELECT count(*) FROM other.keep")) == 1
            assert TurnFactory().id == 1
        finally:
            connection.execute(text("DROP TABLE alembic_version; DROP SCHEMA other CASCADE"))


def test_cleaners_of_both_strategies_can_share_a_connection(pgdb_database):
    """Each strategy keeps its own function: TRUNCATE swaps the table's file, DELETE not."""
    with admin_connection(pgdb_database.url) as connection:
        cleaners = {
            s: DatabaseCleaner(connection, db.metadata, s, run=pgdb_database.run)
            for s in CLEANUP_STRATEGIES
        }

        def projects_file():
            return connection.scalar(text("SELECT pg_relation_filenode('projects')"))

        before = projects_file()
        cleaners["delete"].clean()
        assert projects_file() == before
        cleaners["truncate"].clean()
        assert projects_file() != before


CHANGES = [
    ("ALTER SEQUENCE projects_id_seq INCREMENT 7", "sequence public.projects_id_seq altered"),
    ("ALTER TABLE agents DISABLE TRIGGER ALL", "of fk_agents_project_id_projects on public.agents"),
    # Replication mode silences ordinary triggers, event triggers included: not ours.
    (
        "SET session_replication_role = replica; CREATE TABLE junk (id int); "
        "RESET session_replication_role",
        "table public.junk created",
    ),
    ("ALTER TABLE projects ALTER COLUMN path DROP NOT NULL", "column public.projects.path altered"),
    (
        "ALTER TABLE projects ALTER COLUMN name SET DEFAULT 'x'",
        "column public.projects.name altered",
    ),
    ("ALTER TABLE tasks DROP CONSTRAINT ck_tasks_completed_after_started", "dropped"),
    ("CREATE INDEX ix_extra ON events (payload)", "index public.ix_extra created"),
    ("COMMENT ON TABLE tasks IS 'noted'", "comment pg_class"),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", "function f() created"),
    ("CREATE VIEW v AS SELECT 1 AS one", "table public.v created"),
    ("ALTER TYPE taskstate ADD VALUE 'paused'", "type public.taskstate altered"),
    ("CREATE SCHEMA elsewhere", "schema elsewhere created"),
    ("ALTER DATABASE {name} SET work_mem = '2MB'", "setting database all roles"),
    ("ALTER DATABASE {name} CONNECTION LIMIT 50", "database {name} altered"),
]


@pytest.mark.parametrize("count_ddl", [True, False], ids=["ddl-event-trigger", "catalog-check"])
def test_every_kind_of_change_beyond_rows_is_detected_and_named(lifecycle, name_for, count_ddl):
    database = lifecycle(name_for("detect"))
    database.setup(db.metadata)
    with admin_connection(database.url) as connection:
        if count_ddl and not connection.scalar(
            text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        ):
            pytest.skip("counting DDL with an event trigger needs a superuser")
        cleaner = DatabaseCleaner(
            connection, db.metadata, "delete", run=database.run, count_ddl=count_ddl
        )
        assert cleaner.detection == ("DDL event trigger" if count_ddl else "catalog check")
        assert cleaner.clean().schema_changes == []
        ProjectFactory.create_batch(2)  # rows alone are no change
        assert cleaner.clean().schema_changes == []
        for change, expected in CHANGES:
            with admin_connection(database.url) as test:
                test.exec_driver_sql(change.format(name=database.name))
            changes = cleaner.clean().schema_changes
            assert any(expected.format(name=database.name) in c for c in changes), (
                change,
                changes,
            )
            cleaner.attach(connection)  # accept the change: the next one is compared to it


@contextmanager
def claim_lost_but_in_use(pgdb_server, database):
    """End the claim, with a session on the database: other workers' sweeps leave it.

    Sweeps still take its lock for a moment while they look, so taking it is retried.
    """
    with admin_connection(database.url):
        end_session(pgdb_server, database.claim_pid)
        yield


def wait_until_nobody_is_on(connection, name):
    """A closed session's backend is listed a moment longer while it exits."""
    deadline = time.monotonic() + 5
    query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name")
    while connection.scalar(query, {"name": name}):
        assert time.monotonic() < deadline, f"sessions on {name} never ended"
        time.sleep(0.02)


def take_lock(connection, name):
    deadline = time.monotonic() + 5
    while not try_lock(connection, name):
        assert time.monotonic() < deadline, f"{name}'s lock never came free"
        time.sleep(0.05)


def test_teardown_after_a_lost_claim_waits_out_a_sweeper_holding_the_lock(
    pgdb_server, lifecycle, name_for
):
    """Another run's sweep may hold the name's lock a moment while it looks: not a taker."""
    database = lifecycle(name_for("swept"))
    database.setup()
    with (
        admin_connection(pgdb_server.maintenance_url) as sweeper,
        claim_lost_but_in_use(pgdb_server, database),
    ):
        take_lock(sweeper, database.name)
        done_looking = threading.Timer(0.3, unlock, (sweeper, database.name))
        done_looking.start()
        database.teardown()  # DROP … WITH (FORCE) ends the session on it too
        done_looking.join()
    assert existing(pgdb_server, database.name) == []


def test_teardown_after_a_lost_claim_leaves_a_database_another_run_took(
    monkeypatch, pgdb_server, pgdb_settings, lifecycle, name_for
):
    # The other run keeps the lock: the teardown's wait for it, shortened, runs out.
    monkeypatch.setattr("pytest_flask_pgdb.databases.lifecycle.RECLAIM_SECONDS", 0.2)
    with admin_connection(pgdb_server.maintenance_url) as other_run:
        database = lifecycle(name_for("taken"))
        database.setup()
        with claim_lost_but_in_use(pgdb_server, database):
            take_lock(other_run, database.name)  # and keeps it
            database.teardown()
            assert existing(pgdb_server, database.name) == [database.name]
        # The other run's to drop (with, maybe, another worker's momentarily abandoned one),
        # once the session that held it in use has finished exiting.
        wait_until_nobody_is_on(other_run, database.name)
        assert database.name in drop_abandoned(other_run, pgdb_settings.project)
        unlock(other_run, database.name)


def test_the_connection_budget_counts_what_other_runs_hold_and_names_where(
    pgdb_server, lifecycle, name_for
):
    """A run that would fit an idle server but not beside the connections others hold
    says so before it creates anything, naming the databases holding them."""
    other_run = lifecycle(name_for("budgetother"))
    other_run.setup()
    engine = create_engine(other_run.url, poolclass=NullPool)
    held = [engine.connect() for _ in range(16)]  # another run's workers, busy
    # and five more databases with a session each: more than the message lists
    others = [lifecycle(name_for(f"budget{n}")) for n in range(5)]
    for other in others:
        other.setup()
    engines = [create_engine(other.url, poolclass=NullPool) for other in others]
    held += [other_engine.connect() for other_engine in engines]
    try:
        with admin_connection(pgdb_server.maintenance_url) as connection:
            limit = connection.scalar(_CONNECTION_LIMIT)
            used = connection.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
            )
        # fits max_connections alone (the old check), not beside what is in use; a
        # margin of 8 for what other xdist workers open or close meanwhile
        workers = (limit - used) // CONNECTIONS_PER_WORKER + 3
        assert workers * CONNECTIONS_PER_WORKER <= limit
        late = lifecycle(name_for("budgetlate"), workers=workers)
        with pytest.raises(TestDatabaseError) as refused:
            late.setup()
        message = str(refused.value)
        assert f"max_connections allows {limit} for this user" in message
        assert f"{other_run.name}: 16" in message  # (its own claim is on postgres)
        assert ", …; other test runs are named by their databases" in message
        assert not existing(pgdb_server, late.name)
    finally:
        for connection in held:
            connection.close()
        for each in (engine, *engines):
            each.dispose()


def test_a_database_a_test_made_a_template_is_swept_all_the_same(pgdb_server, lifecycle, name_for):
    """DROP refuses a template (ALTER DATABASE … IS_TEMPLATE true, done by a test); the
    sweep undoes that first. Its connection's lock wait is then off again, as the claim
    session needs (a bounded wait is only for the DROP)."""
    project = f"template_{os.getpid()}"  # swept here only, not by a run beside this one
    crashed = lifecycle(name_for("template", "gw7"), project=project)
    crashed.setup()
    with admin_connection(pgdb_server.maintenance_url) as connection:
        connection.execute(text(f'ALTER DATABASE "{crashed.name}" IS_TEMPLATE true'))
    end_session(pgdb_server, crashed.claim_pid, crashed.name)
    with admin_connection(pgdb_server.maintenance_url) as connection:
        assert crashed.name in drop_abandoned(connection, project)
        assert connection.scalar(text("SHOW lock_timeout")) == "0"
    assert existing(pgdb_server, crashed.name) == []


def test_a_refused_setup_lets_go_of_the_name_at_once(pgdb_server, lifecycle, name_for):
    """A database under our name that the tests did not make is refused, and the run lets
    go of the name right away (not when its process ends): the owner can use it."""
    name = name_for("unowned")
    with admin_connection(pgdb_server.maintenance_url) as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        database = lifecycle(name)
        with pytest.raises(UnownedDatabaseError, match="was not created by the tests"):
            database.setup(db.metadata)
        with admin_connection(pgdb_server.maintenance_url) as other:
            assert try_lock(other, name)
            unlock(other, name)
        assert database.claim_pid is None or not existing_session(pgdb_server, database.claim_pid)
    finally:
        with admin_connection(pgdb_server.maintenance_url) as connection:
            connection.execute(text(f'DROP DATABASE "{name}"'))


def existing_session(server, pid):
    with admin_connection(server.maintenance_url) as connection:
        query = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
        return connection.scalar(query, {"pid": pid}) > 0


def test_metadata_the_server_refuses_is_named_as_the_cause(lifecycle, name_for):
    """create_all failing on the server is the metadata's fault: said so, in one line."""
    metadata = MetaData()
    Table("broken", metadata, Column("x", Integer, server_default=text("no_such_function()")))
    database = lifecycle(name_for("broken"))
    with pytest.raises(TestDatabaseError) as err:
        database.setup(metadata)
    message = str(err.value)
    assert "could not build the schema of test database" in message
    assert "from the pgdb_metadata fixture" in message
    assert "no_such_function" in message
    assert "\n" not in message
