"""The stairway on a planted history: every revision that does not reverse is named.

The history is a copy of the project's, with downgrades broken on purpose: the walk
must go on past the first bad revision and name each, once.
"""

import itertools
import shutil
from pathlib import Path

import pytest

from pytest_flask_pgdb.parity import stairway
from pytest_flask_pgdb.parity.migrations import MigrationError, Migrations

HISTORY = Path(__file__).resolve().parents[2] / "migrations"
FORGOTTEN = {  # revision file: the downgrade statement "forgotten"
    "0004_project_slug.py": '    op.drop_column("projects", "slug")\n',
    "0005_agent_priority_and_checks.py": (
        '    op.drop_index("uq_agents_claude_session_id", table_name="agents")\n'
    ),
}


def planted_history(tmp_path: Path) -> Path:
    copy = tmp_path / "migrations"
    shutil.copytree(HISTORY, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for name, statement in FORGOTTEN.items():
        path = copy / "versions" / name
        source = path.read_text()
        assert source.count(statement) == 1, f"{name} no longer has {statement!r}"
        path.write_text(source.replace(statement, ""))
    return copy


def test_the_stairway_names_every_revision_that_does_not_reverse(
    tmp_path, pgdb_make_database, pgdb_app_factory, pgdb_pg_dump
):
    migrations = Migrations(planted_history(tmp_path), pgdb_app_factory)
    labels = (f"plantedstairs{n}" for n in itertools.count())
    problems, at_head = stairway.walk(
        migrations, lambda: pgdb_make_database(next(labels)).url, pgdb_pg_dump
    )
    assert [problem.splitlines()[0] for problem in problems] == [
        "the downgrade of 0004 does not give back the schema before it:",
        "the downgrade of 0005 does not give back the schema before it:",
    ], problems
    assert "column public.projects.slug only in after downgrade" in problems[0]
    assert "uq_agents_claude_session_id" in problems[1]
    assert at_head is not None  # walked to the end


def test_alembics_refusal_is_an_error_naming_the_command_not_a_system_exit(
    pgdb_make_database, pgdb_migrations
):
    """flask_migrate would log it and ``sys.exit(1)``: in a session fixture that derails
    pytest itself (``assert not self._finalizers``)."""
    url = pgdb_make_database("refused").url
    with pytest.raises(MigrationError, match=r"^flask db upgrade no_such_revision: .*'no_such_"):
        pgdb_migrations.upgrade(url, "no_such_revision")


REVISION = '''"""planted"""
from alembic import op

revision = "{revision}"
down_revision = "{parent}"
branch_labels = None
depends_on = None


def upgrade():
    {upgrade}


def downgrade():
    {downgrade}
'''
BROKEN = "op.execute('SELECT no_such_function()')"
A_TABLE = "op.execute('CREATE TABLE planted (id int)')"
NO_TABLE = "op.execute('DROP TABLE planted')"
# A comment that differs on every upgrade: the downgrade gives the schema back, but
# upgrading again does not build what the first upgrade built.
RANDOM_COMMENT = (
    "op.execute(\"DO $$ BEGIN EXECUTE format('COMMENT ON TABLE projects IS %L', "
    'clock_timestamp()::text || random()::text); END $$")'
)


def history_plus(tmp_path: Path, *steps: tuple[str, str]) -> Path:
    """Our history with revisions 0007, 0008, … added: ``(upgrade, downgrade)`` each."""
    copy = tmp_path / "migrations"
    shutil.copytree(HISTORY, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for number, (upgrade, downgrade) in enumerate(steps, 7):
        source = REVISION.format(
            revision=f"{number:04}", parent=f"{number - 1:04}", upgrade=upgrade, downgrade=downgrade
        )
        (copy / "versions" / f"{number:04}_planted.py").write_text(source)
    return copy


# pgdb_make_database gives a label's database to the whole session: each walk's are new.
LABELS = (f"plantedsteps{n}" for n in itertools.count())


def walk(pgdb_make_database, pgdb_app_factory, history):
    return stairway.walk(
        Migrations(history, pgdb_app_factory), lambda: pgdb_make_database(next(LABELS)).url, None
    )


def test_a_downgrade_that_fails_is_named_and_the_walk_goes_on(
    tmp_path, pgdb_make_database, pgdb_app_factory
):
    history = history_plus(tmp_path, (A_TABLE, BROKEN), (A_TABLE.replace("planted", "p2"), "pass"))
    problems, at_head = walk(pgdb_make_database, pgdb_app_factory, history)
    assert len(problems) == 2, problems
    assert problems[0].startswith("0007: the step failed: UndefinedFunction: function ")
    # 0008 was walked too (from a fresh database at 0007): its downgrade forgets p2.
    assert problems[1].startswith("the downgrade of 0008 does not give back the schema")
    assert {"public.planted", "public.p2"} <= set(at_head.snapshot.names("table"))


def test_an_upgrade_that_fails_ends_the_walk_naming_it(
    tmp_path, pgdb_make_database, pgdb_app_factory
):
    history = history_plus(tmp_path, (BROKEN, "pass"), (A_TABLE, NO_TABLE))
    problems, at_head = walk(pgdb_make_database, pgdb_app_factory, history)
    assert at_head is None
    assert [p.split(":", 2)[:2] for p in problems] == [
        ["0007", " the step failed"],
        ["0007", " the upgrade to it fails"],
    ]
    assert all("UndefinedFunction" in p for p in problems)


def test_an_upgrade_that_builds_something_else_the_second_time_is_named(
    tmp_path, pgdb_make_database, pgdb_app_factory
):
    history = history_plus(
        tmp_path, (RANDOM_COMMENT, "op.execute('COMMENT ON TABLE projects IS NULL')")
    )
    problems, at_head = walk(pgdb_make_database, pgdb_app_factory, history)
    [problem] = problems
    assert problem.startswith(
        "0007: upgrade, downgrade, upgrade does not give the same schema:\n"
    ), problem
    assert "table public.projects: comment — first upgrade: " in problem
    assert at_head is not None


def test_the_stairway_check_fails_on_a_bad_revision_and_on_a_head_unlike_flask_db_upgrade(
    tmp_path, pgdb_make_database, pgdb_app_factory
):
    """The check as pytest calls it, on a planted history: the walk's problems fail it,
    and so does a head that differs from the migrated schema it is given."""
    from pytest_flask_pgdb.parity.baseline import Baseline, BaselineInUse
    from pytest_flask_pgdb.parity.checks import test_every_migration_goes_down_and_up_again
    from pytest_flask_pgdb.parity.compare import Schema
    from pytest_flask_pgdb.parity.snapshot import Snapshot

    judged = BaselineInUse(Baseline(tmp_path / "none.toml", ()), writing=False)
    migrations = Migrations(history_plus(tmp_path, (A_TABLE, "pass")), pgdb_app_factory)

    def make(label):
        return pgdb_make_database(next(LABELS))

    empty = Schema(Snapshot({}), None)  # what flask db upgrade would build: not this head
    with pytest.raises(pytest.fail.Exception, match="the downgrade of 0007 does not give back"):
        test_every_migration_goes_down_and_up_again(make, migrations, None, empty, judged)
    good = Migrations(history_plus(tmp_path / "good", (A_TABLE, NO_TABLE)), pgdb_app_factory)
    with pytest.raises(pytest.fail.Exception, match="the walk's head is not what flask db"):
        test_every_migration_goes_down_and_up_again(make, good, None, empty, judged)


def test_the_schema_check_fails_when_the_snapshot_misses_what_the_models_define(
    tmp_path, pgdb_models_database, pgdb_metadata
):
    from pytest_flask_pgdb.parity.baseline import Baseline, BaselineInUse
    from pytest_flask_pgdb.parity.checks import test_migrations_and_models_build_identical_schemas
    from pytest_flask_pgdb.parity.compare import Schema
    from pytest_flask_pgdb.parity.snapshot import Snapshot

    judged = BaselineInUse(Baseline(tmp_path / "none.toml", ()), writing=False)
    blind = Schema(Snapshot({}), None)  # the same (empty) reading on both sides
    with pytest.raises(AssertionError, match="the snapshot did not read the tables"):
        test_migrations_and_models_build_identical_schemas(
            blind, blind, pgdb_models_database, pgdb_metadata, judged
        )
