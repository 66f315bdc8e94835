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
