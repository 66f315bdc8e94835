"""flask create-db / prepare-db: one line of advice that fits the failure (no database)."""

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from claude_headspace.cli import advice

URL = make_url("postgresql+psycopg2://alice:secret@db.example:5433/claude_headspace")


def failure(kind, message):
    return kind("statement", {}, Exception(message))


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (
            failure(
                OperationalError, 'connection to server at "db.example" failed: Connection refused'
            ),
            "no PostgreSQL server answers at db.example:5433",
        ),
        (
            failure(OperationalError, 'could not translate host name "db.example" to address'),
            "no PostgreSQL server answers",
        ),
        (
            failure(OperationalError, 'FATAL:  password authentication failed for user "alice"'),
            "refused user 'alice'",
        ),
        (
            failure(OperationalError, 'FATAL:  role "alice" does not exist'),
            "Fix database.user / database.password",
        ),
        (
            failure(ProgrammingError, "permission denied to create database"),
            "ALTER ROLE alice CREATEDB;",
        ),
        (failure(ProgrammingError, "disk full"), "cannot use the PostgreSQL server at"),
    ],
    ids=["refused", "unknown-host", "password", "no-role", "no-createdb", "other"],
)
def test_each_failure_gets_its_own_advice(error, says):
    line = advice(error, URL)
    assert says in line
    assert "secret" not in line
    assert "\n" not in line


def test_the_server_down_advice_does_not_blame_the_login():
    line = advice(failure(OperationalError, "Connection refused"), URL)
    assert "user" not in line
