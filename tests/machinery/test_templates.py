"""Schema templates and kept databases: built once, cloned, reused only while right.

Every database here goes through TestDatabase (marked, claimed). The templates the
tests build hold schemas of their own: any later run of the project drops them as
stale (same source, another key), and each test drops its own at the end.
"""

import shutil
import threading
import time
import uuid

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Text, inspect, text

from pytest_flask_pgdb.databases import templates
from pytest_flask_pgdb.databases.connections import admin_connection, admin_engine
from pytest_flask_pgdb.databases.guard import (
    KEPT,
    TEMPLATE,
    Mark,
    database_exists_with_mark,
    staging_name,
)
from pytest_flask_pgdb.databases.lifecycle import TestDatabase, drop_abandoned
from pytest_flask_pgdb.databases.names import url_for_test_database
from pytest_flask_pgdb.errors import UnownedDatabaseError
from pytest_flask_pgdb.parity.migrations import Migrations

PROBE = f"template_probe_{uuid.uuid4().hex[:8]}"  # this process's: xdist workers apart


def probe_metadata(*columns):
    """A schema of its own: one table, a key unlike the app's (and other workers')."""
    metadata = MetaData()
    Table(
        PROBE,
        metadata,
        Column("id", Integer, primary_key=True),
        *(Column(name, Text) for name in columns),
    )
    return metadata


@pytest.fixture
def name(pgdb_settings):
    return url_for_test_database(
        pgdb_settings.test_url, label=f"tpl{uuid.uuid4().hex[:8]}"
    ).database


@pytest.fixture
def runs(pgdb_server, pgdb_settings):
    """Runs (TestDatabase objects) on one name; every database and template they made
    is dropped at the end."""
    made = []

    def run(name):
        database = TestDatabase(
            pgdb_server, name, run=uuid.uuid4().hex, project=pgdb_settings.project
        )
        made.append(database)
        return database

    yield run
    for database in made:
        database.teardown()
    names = {d.name for d in made} | {d.template for d in made if d.template}
    with admin_connection(pgdb_server.maintenance_url) as connection:
        for leftover in names:
            exists, mark = database_exists_with_mark(connection, leftover)
            if exists and mark is not None and mark.kind in (KEPT, TEMPLATE):
                # (IF EXISTS: another worker may sweep it first, as stale)
                connection.execute(text(f'DROP DATABASE IF EXISTS "{leftover}" WITH (FORCE)'))


def mark_of(server, name):
    with admin_connection(server.maintenance_url) as connection:
        return database_exists_with_mark(connection, name)


def assert_gone_soon(server, name):
    """A stale template is stale to other workers' runs too: one of them may be dropping
    it (holding its lock) as we look. Gone either way, at once or in a moment."""
    deadline = time.monotonic() + 10
    while mark_of(server, name) != (False, None):
        assert time.monotonic() < deadline, f"{name} was never dropped"
        time.sleep(0.05)  # the server's catalog, polled: no event crosses to us


def columns_of(database):
    engine = admin_engine(database.url)
    try:
        return [c["name"] for c in inspect(engine).get_columns(PROBE)]
    finally:
        engine.dispose()


def provided(run, metadata):
    run.claim()
    run.provide(metadata)
    return run


def test_a_run_clones_the_template_and_the_next_run_takes_over_the_kept_database(
    runs, name, pgdb_server
):
    first = provided(runs(name), probe_metadata("a"))
    assert not first.reused
    assert first.template is not None
    _, template_mark = mark_of(pgdb_server, first.template)
    assert (template_mark.kind, template_mark.schema) == (TEMPLATE, first.schema)
    first.teardown(keep=True)
    exists, kept = mark_of(pgdb_server, name)
    assert exists
    assert (kept.kind, kept.schema) == (KEPT, first.schema)
    assert kept.check

    second = provided(runs(name), probe_metadata("a"))
    assert second.reused
    _, taken_over = mark_of(pgdb_server, name)
    assert (taken_over.kind, taken_over.run) == ("run", second.run)  # a crash now: abandoned
    second.teardown()  # not kept: dropped
    assert mark_of(pgdb_server, name) == (False, None)


def test_a_changed_model_column_reaches_the_next_runs_database(runs, name, pgdb_server):
    first = provided(runs(name), probe_metadata("a"))
    first.teardown(keep=True)
    second = provided(runs(name), probe_metadata("a", "b"))
    assert not second.reused
    assert columns_of(second) == ["id", "a", "b"]
    assert second.template != first.template
    assert_gone_soon(pgdb_server, first.template)  # stale: nobody held it


def test_a_kept_database_changed_since_is_not_taken_over(runs, name):
    first = provided(runs(name), probe_metadata("a"))
    first.teardown(keep=True)
    with admin_connection(first.url) as connection:  # someone's DDL between runs
        connection.execute(text(f"ALTER TABLE {PROBE} ADD COLUMN sneaked text"))
    second = provided(runs(name), probe_metadata("a"))
    assert not second.reused
    assert columns_of(second) == ["id", "a"]


def test_a_template_held_by_a_live_run_is_never_dropped_as_stale(runs, pgdb_settings):
    names = [
        url_for_test_database(pgdb_settings.test_url, label=f"tpl{uuid.uuid4().hex[:8]}").database
        for _ in range(2)
    ]
    live = provided(runs(names[0]), probe_metadata("a"))
    other = provided(runs(names[1]), probe_metadata("a", "b"))  # sweeps stale templates
    assert other.template != live.template
    live.rebuild(probe_metadata("a"))  # still there to clone from
    assert columns_of(live) == ["id", "a"]


def test_two_runs_build_one_template_at_once(runs, pgdb_settings):
    metadata = probe_metadata("a", "concurrent")
    databases = [
        runs(
            url_for_test_database(
                pgdb_settings.test_url, label=f"tpl{uuid.uuid4().hex[:8]}"
            ).database
        )
        for _ in range(3)
    ]
    for database in databases:
        database.claim()
    errors = []

    def provide(database):
        try:
            database.provide(metadata)
        except Exception as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=provide, args=(d,)) for d in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len({d.template for d in databases}) == 1
    assert all(columns_of(d) == ["id", "a", "concurrent"] for d in databases)


def test_a_database_with_a_templates_name_and_no_mark_is_refused(runs, name, pgdb_server):
    metadata = probe_metadata("unmarked")
    database = runs(name)
    database.claim()
    ddl = templates.metadata_ddl(metadata)
    with admin_connection(pgdb_server.maintenance_url) as connection:
        role = connection.scalar(text("SELECT current_user"))
        key = templates.schema_key("metadata", ddl, str(database.server_version), role)
        impostor = templates.template_name(database.project, key)
        connection.execute(text(f'CREATE DATABASE "{impostor}"'))
    try:
        with pytest.raises(UnownedDatabaseError, match="not its mark"):
            database.provide(metadata)
        assert mark_of(pgdb_server, impostor) == (True, None)  # left as it was
    finally:
        with admin_connection(pgdb_server.maintenance_url) as connection:
            connection.execute(text(f'DROP DATABASE "{impostor}"'))


def test_remove_leftovers_drops_caches_that_no_live_run_holds(runs, name, pgdb_server):
    first = provided(runs(name), probe_metadata("a", "removed"))
    first.teardown(keep=True)
    with admin_connection(pgdb_server.maintenance_url) as connection:
        dropped = drop_abandoned(connection, first.project, caches=True)
    assert name in dropped
    assert_gone_soon(pgdb_server, first.template)


PROBE_REVISION = '''
"""A revision the test adds: one column."""
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "0006"


def upgrade():
    op.add_column("projects", sa.Column("probe", sa.Text()))


def downgrade():
    op.drop_column("projects", "probe")
'''


def test_a_changed_migration_reaches_the_next_runs_migrated_database(
    runs, name, pgdb_app_factory, pgdb_migrations_directory, tmp_path
):
    """The migrations fixture's template is named by the migration files: a new
    revision gives a new template, built by running the history again."""
    directory = tmp_path / "migrations"
    shutil.copytree(
        pgdb_migrations_directory, directory, ignore=shutil.ignore_patterns("__pycache__")
    )
    migrations = Migrations(directory, pgdb_app_factory)

    def migrated(run):
        run.claim()
        run.provide_schema(
            "migrations_probe",
            migrations.key,
            lambda staging: migrations.upgrade(run.server.url(staging), "head"),
        )
        engine = admin_engine(run.url)
        try:
            return [c["name"] for c in inspect(engine).get_columns("projects")]
        finally:
            engine.dispose()

    first = runs(name)
    assert "probe" not in migrated(first)
    first.teardown()
    (directory / "versions" / "9999_probe.py").write_text(PROBE_REVISION)
    second = runs(name)
    assert "probe" in migrated(second)
    assert second.template != first.template


def test_the_migrations_key_is_every_file_of_the_history_but_bytecode(tmp_path, pgdb_app_factory):
    (tmp_path / "versions" / "__pycache__").mkdir(parents=True)
    (tmp_path / "env.py").write_text("# env\n")
    migrations = Migrations(tmp_path, pgdb_app_factory)
    key = migrations.key()
    (tmp_path / "versions" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert migrations.key() == key
    (tmp_path / "versions" / "0001_x.py").write_text("revision = '0001'\n")
    assert migrations.key() != key
    (tmp_path / "versions" / "0001_x.py").write_text("revision = '0002'\n")
    changed = migrations.key()
    (tmp_path / "versions" / "0001_x.py").rename(tmp_path / "versions" / "0001_y.py")
    assert migrations.key() != changed  # a file's name is part of it too


def test_ctrl_c_while_keeping_drops_the_database_and_still_stops(
    runs, name, pgdb_server, monkeypatch
):
    database = provided(runs(name), probe_metadata("a"))

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(database, "_catalog_check", interrupted)
    with pytest.raises(KeyboardInterrupt):
        database.teardown(keep=True)
    assert mark_of(pgdb_server, name) == (False, None)


def test_a_kept_database_with_a_session_on_it_is_dropped_not_kept(runs, name, pgdb_server):
    database = provided(runs(name), probe_metadata("a"))
    engine = admin_engine(database.url)
    with engine.connect():  # a session the run leaked
        database.teardown(keep=True)
    engine.dispose()
    assert mark_of(pgdb_server, name) == (False, None)


def test_a_template_half_built_by_a_killed_run_is_swept(runs, name, pgdb_server):
    """Killed while building: a staging database with a template's mark, unclaimed."""
    project = runs(name).project
    staging = staging_name(project)
    # Of a source nobody provides here: not stale, so only the staging rule removes it.
    mark = Mark.new(uuid.uuid4().hex, project, TEMPLATE, "killed_source:0123456789abcdef")
    with admin_connection(pgdb_server.maintenance_url) as connection:
        connection.execute(text(f'CREATE DATABASE "{staging}"'))
        connection.execute(
            text(f'COMMENT ON DATABASE "{staging}" IS :mark').bindparams(mark=mark.comment())
        )
    provided(runs(name), probe_metadata("a"))
    assert_gone_soon(pgdb_server, staging)  # (another worker's sweep may be the one)
