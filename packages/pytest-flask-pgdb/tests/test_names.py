"""Test database names, the guard's name rule and its mark (no database)."""

import json
import re

import pytest
from sqlalchemy.engine import make_url

from pytest_flask_pgdb.databases.guard import (
    KEPT,
    MARK_LIKE,
    RUN,
    STAGING_NAME,
    STAGING_SQL,
    TEMPLATE,
    Mark,
    is_staging_of,
    is_test_database_name,
    project_tag,
    require_test_name,
    staging_name,
)
from pytest_flask_pgdb.databases.names import url_for_test_database, worker_id
from pytest_flask_pgdb.errors import UnsafeDatabaseError

BASE = make_url("postgresql+psycopg2://postgres@localhost:5432/claude_headspace_test")


@pytest.mark.parametrize(
    ("worker", "label", "expected"),
    [
        (None, None, "claude_headspace_test"),
        ("gw0", None, "claude_headspace_test_gw0"),
        ("gw11", None, "claude_headspace_test_gw11"),
        (None, "migrations", "claude_headspace_migrations_test"),
        ("gw1", "models", "claude_headspace_models_test_gw1"),
    ],
)
def test_worker_and_label_names(worker, label, expected):
    url = url_for_test_database(BASE, worker=worker, label=label)
    assert url.database == expected
    assert (url.host, url.port, url.username) == ("localhost", 5432, "postgres")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("gw3", "gw3"), ("gw12", "gw12"), (None, None), ("", None), ("gw", None), ("master", None)],
)
def test_worker_id_accepts_only_xdist_ids(raw, expected):
    assert worker_id(raw) == expected


def test_worker_id_cannot_inject_sql():
    assert worker_id("gw1; DROP DATABASE x") is None


@pytest.mark.parametrize(
    "name",
    [
        "claude_headspace_test",
        "x_test_gw0",
        "a_b_test_gw12",
        "claude_headspace_migrations_test",
        "x" * 58 + "_test",  # 63 bytes: the longest name PostgreSQL keeps whole
    ],
)
def test_test_names(name):
    assert is_test_database_name(name)
    assert require_test_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "claude_headspace",
        "postgres",
        "template1",
        "test",
        "_test",
        "claude_headspace_testing",
        "claude_headspace_test_gw",
        "claude_headspace_test_main",
        "Claude_Headspace_test",
        "x" * 59 + "_test",  # 64 bytes: PostgreSQL would truncate it
        "é" * 29 + "_test",  # non-ASCII
        "",
        None,
    ],
)
def test_everything_else_is_refused(name):
    assert not is_test_database_name(name)
    with pytest.raises(UnsafeDatabaseError, match="is not a test database"):
        require_test_name(name, "drop")


def test_a_name_that_would_be_too_long_is_refused_when_built():
    base = BASE.set(database="n" * 54 + "_test")  # 59 bytes: fine alone
    assert url_for_test_database(base).database == "n" * 54 + "_test"
    with pytest.raises(UnsafeDatabaseError, match="at most 63 characters"):
        url_for_test_database(base, worker="gw10")  # 64 bytes


def test_mark_round_trips_and_is_found_by_its_like_pattern():
    mark = Mark.new("run-1", "shop")
    comment = mark.comment()
    assert Mark.parse(comment) == mark
    prefix = MARK_LIKE.rstrip("%")
    assert comment.startswith(prefix)
    assert mark.pid > 0
    assert mark.host


def complete(creator: str) -> str:
    """A mark complete in every field, made by ``creator``."""
    fields = {"project": "p", "run": "r", "pid": 1, "host": "h", "created": "x"}
    return json.dumps({"created_by": creator, **fields})


@pytest.mark.parametrize(
    "comment",
    [
        None,
        "",
        "my database",
        complete("someone else"),
        # creators that sort before and after ours: only equality makes a mark
        complete("alembic"),
        complete("zz"),
        '{"created_by": "pytest-flask-pgdb"}',  # incomplete
        '{"created_by": "pytest-flask-pgdb", "run": "r", "pid": 1, "host": "h", "created": "x"}',
        '["pytest-flask-pgdb"]',
        "{not json",
    ],
)
def test_anything_but_a_complete_mark_is_no_mark(comment):
    assert Mark.parse(comment) is None


def test_staging_names_are_test_names_with_random_tokens():
    first, second = staging_name("shop"), staging_name("shop")
    assert first != second
    for name in (first, second):
        assert STAGING_NAME.match(name)
        assert is_test_database_name(name)
        assert is_staging_of(name, "shop")
        assert not is_staging_of(name, "other_shop")
        assert re.match(STAGING_SQL, name)  # the server's pattern finds it too
    assert not STAGING_NAME.match("pgdb_new_test")
    assert not is_staging_of("shop_test", "shop")


def test_a_complete_mark_of_ours_is_a_mark():
    assert Mark.parse(complete("pytest-flask-pgdb")) == Mark("p", "r", 1, "h", "x")


def test_a_mark_names_its_project():
    mark = Mark.parse(Mark.new("run-1", "shop").comment())
    assert mark is not None
    assert mark.project == "shop"
    assert json.loads(mark.comment())["project"] == "shop"


def test_a_mark_is_a_value():
    """Equal marks are the same mark, usable as keys; nobody edits one in place."""
    mark = Mark.parse(Mark.new("run-1", "shop").comment())
    assert {mark: 1}[Mark.parse(mark.comment())] == 1
    with pytest.raises(AttributeError):
        mark.run = "run-2"


def test_a_staging_name_is_only_its_own_projects():
    """Tags that sort before and after the project's: only equality makes it ours."""
    others = [f"project{n}" for n in range(20)]
    before = next(p for p in others if project_tag(p) < project_tag("shop"))
    after = next(p for p in others if project_tag(p) > project_tag("shop"))
    for other in (before, after):
        assert is_staging_of(staging_name(other), other)
        assert not is_staging_of(staging_name(other), "shop")


def test_a_mark_says_what_the_database_is_for():
    """A run's database, a schema template, a kept database; a mark without a kind (an
    older plugin's) is a run's; a kind this version does not know is no mark at all."""
    for kind in (RUN, TEMPLATE, KEPT):
        mark = Mark.new("run-1", "shop", kind, "metadata:abc", "1:2")
        assert Mark.parse(mark.comment()) == mark
        assert json.loads(mark.comment())["kind"] == kind
    assert Mark.parse(complete("pytest-flask-pgdb")).kind == RUN
    unknown = json.loads(complete("pytest-flask-pgdb")) | {"kind": "archive"}
    assert Mark.parse(json.dumps(unknown)) is None


@pytest.mark.parametrize(
    ("worker", "label", "expected"),
    [
        (None, None, "claude_headspace_n2_test"),
        ("gw0", None, "claude_headspace_n2_test_gw0"),
        ("gw1", "models", "claude_headspace_n2_models_test_gw1"),
    ],
)
def test_a_namespace_is_one_more_component_of_every_name(worker, label, expected):
    url = url_for_test_database(BASE, worker=worker, label=label, namespace="n2")
    assert url.database == expected
