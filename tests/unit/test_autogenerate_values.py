"""Alembic's comparison, described readably (no database; needs the plugin's parity extra)."""

import pytest
from sqlalchemy import Computed, DefaultClause, Integer, String, false, func, text

from pytest_flask_pgdb.parity.migrations import describe_autogenerate, readable


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (DefaultClause(text("now()")), "now()"),
        (DefaultClause("draft"), "'draft'"),
        (DefaultClause(false()), "false"),
        (DefaultClause(func.now()), "now()"),
        (Computed("a + 1"), "a + 1"),
        (String(255), "VARCHAR(255)"),
        (Integer(), "INTEGER"),
        (None, "none"),
        ("a comment", "'a comment'"),
    ],
)
def test_values_are_shown_as_sql(value, shown):
    assert readable(value) == shown


def test_a_changed_default_reads_as_sql_not_object_reprs():
    diff = [
        [
            (
                "modify_default",
                None,
                "projects",
                "created_at",
                {},
                DefaultClause(text("now()")),
                DefaultClause(text("CURRENT_TIMESTAMP")),
            )
        ]
    ]
    (line,) = describe_autogenerate(diff)
    assert line == "modify_default projects.created_at: database now(), models CURRENT_TIMESTAMP"
    assert "object at 0x" not in line
