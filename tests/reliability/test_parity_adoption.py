"""Schema parity as a project adopts it (issue 23): whole runs of our schema suite.

Each run is a project of its own in a temporary directory: our app bound as in
``tests/conftest.py``, our ``tests/schema`` files as they are, and a copy of our
migrations with one thing planted (a second head, a new revision) — and, through
``PLANTED_*`` variables its conftest reads, models with tables or an index added.
One problem must fail exactly one test, with one message; a baseline must let a
project turn parity on with differences it already has, and fail on new and stale ones.
"""

import re
import shutil
import sys
from pathlib import Path

import pytest

from tests.reliability.harness import ROOT

CONFTEST = """
import os
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Column, Index, Integer, Table

from tests.plugin_binding import app_database


def pytest_pgdb_app_database(config, environ):
    return app_database(environ)


if os.environ.get("PLANTED_NO_PG_DUMP"):  # a machine without pg_dump of the server's version
    import pytest_flask_pgdb.parity.compare

    pytest_flask_pgdb.parity.compare.find_pg_dump = lambda *args: None


@pytest.fixture(scope="session")
def pgdb_metadata():
    import claude_headspace.models  # noqa: F401
    from claude_headspace.database import db

    for n in filter(None, os.environ.get("PLANTED_TABLES", "").split(",")):
        Table(f"planted_{n}", db.metadata, Column("id", Integer, primary_key=True))
    if os.environ.get("PLANTED_INDEX"):
        Index("ix_projects_github_repo", db.metadata.tables["projects"].c.github_repo)
    return db.metadata


@pytest.fixture(scope="session")
def pgdb_app_factory():
    from claude_headspace import create_app

    return partial(create_app, testing=True)


@pytest.fixture(scope="session")
def pgdb_migrations_directory():
    return Path(__file__).parent / "migrations"
"""
PYTEST_INI = "[pytest]\naddopts = -p no:cacheprovider -p no:faker -p no:randomly -rfEs\n"
REVISION = '''"""planted: an index on projects.github_repo"""
from alembic import op

revision = "0007"
down_revision = "{parent}"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_projects_github_repo", "projects", ["github_repo"])


def downgrade():
    {downgrade}
'''
REVERSES = 'op.drop_index("ix_projects_github_repo", table_name="projects")'
FORGOTTEN = "pass  # the drop_index forgotten"


def adopting_project(tmp_path: Path, revision: str | None = None) -> Path:
    """Our schema suite and app, with ``revision`` added to a copy of our history."""
    project = tmp_path / "project"
    shutil.copytree(
        ROOT / "migrations", project / "migrations", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("test_parity.py", "test_migrations_on_data.py"):
        shutil.copy(ROOT / "tests" / "schema" / name, project / name)
    (project / "conftest.py").write_text(CONFTEST)
    (project / "pytest.ini").write_text(PYTEST_INI)
    if revision is not None:
        (project / "migrations" / "versions" / "0007_planted.py").write_text(revision)
    return project


def run_schema_suite(reliability, project: Path, *args: str, **env: str | None):
    command = [sys.executable, "-m", "pytest", str(project), "-c", str(project / "pytest.ini")]
    command += ["--rootdir", str(project), "-q", *args]
    return reliability.run(command, reliability.env(**env))


def assert_one_failure(result) -> str:
    """The run failed with exactly one failed test, no error and no traceback of
    pytest's or a library's: the FAILED line."""
    assert result.returncode == 1, result.output
    counts = outcome(result.output)
    assert counts.get("failed") == 1, result.output
    assert "error" not in counts, result.output
    assert "errors" not in counts, result.output
    for noise in ("INTERNALERROR", "Traceback", "SystemExit"):
        assert noise not in result.output, result.output
    [failed] = lines_starting("FAILED", result.output)
    return failed


def lines_starting(prefix: str, output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(prefix)]


def outcome(output: str) -> dict[str, int]:
    """The closing line's counts: ``{"failed": 1, "skipped": 4, ...}``."""
    last = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed)", line)][-1]
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", last)}


@pytest.mark.usefixtures("developer_data_is_untouched")
def test_two_heads_fail_one_check_and_skip_the_others_saying_why(reliability, tmp_path):
    project = adopting_project(tmp_path, REVISION.format(parent="0005", downgrade=REVERSES))
    result = run_schema_suite(reliability, project, "-n", "2")
    assert "test_migrations_have_one_head" in assert_one_failure(result)
    assert outcome(result.output).get("skipped", 0) >= 3, result.output
    assert "the migrations have 2 heads (0006, 0007): merge them" in result.output
    skips = lines_starting("SKIPPED", result.output)
    assert skips, result.output
    assert all("2 heads" in line for line in skips), result.output
    assert len(result.output.splitlines()) < 40, result.output


@pytest.mark.usefixtures("developer_data_is_untouched")
def test_a_forgotten_drop_index_fails_the_stairway_only_naming_the_revision(reliability, tmp_path):
    project = adopting_project(tmp_path, REVISION.format(parent="0006", downgrade=FORGOTTEN))
    result = run_schema_suite(reliability, project, PLANTED_INDEX="1")
    assert "test_every_migration_goes_down_and_up_again" in assert_one_failure(result)
    assert "the downgrade of 0007 does not give back the schema before it" in result.output
    assert "index public.ix_projects_github_repo only in after downgrade" in result.output
    # The data test's step down and up fails too, but on an empty database as well:
    # it is skipped naming the stairway, not a second failure.
    skipped = lines_starting("SKIPPED", result.output)
    assert any("the stairway check fails on it" in line for line in skipped), result.output
    assert len(result.output.splitlines()) < 40, result.output


@pytest.mark.usefixtures("developer_data_is_untouched")
def test_a_correct_new_index_on_both_sides_passes(reliability, tmp_path):
    project = adopting_project(tmp_path, REVISION.format(parent="0006", downgrade=REVERSES))
    result = run_schema_suite(reliability, project, PLANTED_INDEX="1")
    assert result.returncode == 0, result.output
    assert "failed" not in outcome(result.output), result.output


@pytest.mark.usefixtures("developer_data_is_untouched")
def test_a_baseline_accepts_what_it_lists_and_fails_on_new_and_stale(reliability, tmp_path):
    project = adopting_project(tmp_path)
    baseline = project / "parity-baseline.toml"

    written = run_schema_suite(
        reliability, project, "-n", "2", "--pgdb-write-parity-baseline", PLANTED_TABLES="1,2,3"
    )
    assert written.returncode == 0, written.output
    text = baseline.read_text()
    assert [n for n in "1234" if f"table public.planted_{n} only in models" in text] == list(
        "123"
    ), text
    assert text.count("[[accepted]]") == 3, text

    again = run_schema_suite(reliability, project, PLANTED_TABLES="1,2,3")
    assert again.returncode == 0, again.output

    fourth = run_schema_suite(reliability, project, PLANTED_TABLES="1,2,3,4")
    assert_one_failure(fourth)
    assert "table public.planted_4 only in models" in fourth.output
    assert not re.search(r"planted_[123]\b", fourth.output), fourth.output
    assert "(3 more accepted in parity-baseline.toml)" in fourth.output

    fixed = run_schema_suite(reliability, project, PLANTED_TABLES="2,3")
    assert_one_failure(fixed)
    assert "but no longer found" in fixed.output
    assert "schema: table public.planted_1 only in models" in fixed.output
    assert not re.search(r"planted_[23]\b", fixed.output), fixed.output


@pytest.mark.usefixtures("developer_data_is_untouched")
def test_without_a_matching_pg_dump_the_closing_lines_say_the_backstop_did_not_run(
    reliability, tmp_path
):
    project = adopting_project(tmp_path)
    # Outside CI (this suite may itself run under CI=true): a skip and a closing line.
    result = run_schema_suite(reliability, project, "-n", "2", PLANTED_NO_PG_DUMP="1", CI=None)
    assert result.returncode == 0, result.output
    closing = result.output.splitlines()[-4:]
    assert any("schema parity: the pg_dump backstop did not run" in line for line in closing)
    in_ci = run_schema_suite(reliability, project, PLANTED_NO_PG_DUMP="1", CI="true")
    assert "test_the_pg_dump_backstop_ran" in assert_one_failure(in_ci)
