"""A server that went away, told apart from every other database error (no database)."""

import inspect
from concurrent.futures import Future

import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from pytest_flask_pgdb.databases.connections import is_server_gone, server_gone_message
from pytest_flask_pgdb.tracebacks import short_repr_if_server_gone


class DriverError(Exception):
    """What psycopg2 raises: a message, and a SQLSTATE when the server sent one."""

    def __init__(self, message: str, pgcode: str | None = None) -> None:
        super().__init__(message)
        self.pgcode = pgcode


def error(message: str, pgcode: str | None = None, *, kind=OperationalError, invalidated=False):
    return kind("SELECT 1", {}, DriverError(message, pgcode), connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "exc",
    [
        error("server closed the connection unexpectedly"),
        error('connection to server on socket "/s" failed: No such file or directory'),
        error('connection to server at "127.0.0.1", port 5432 failed: Connection refused'),
        error("FATAL:  the database system is shutting down"),
        error("FATAL:  the database system is starting up"),
        error("FATAL:  terminating connection due to administrator command"),
        error("anything", "57P01"),
        error("anything", "57P03"),
        error("anything", invalidated=True),
    ],
)
def test_a_server_that_went_away_is_recognised(exc):
    assert is_server_gone(exc)


@pytest.mark.parametrize(
    "exc",
    [
        error("canceling statement due to statement timeout", "57014"),
        error('password authentication failed for user "app"', "28P01"),
        error("permission denied to create database", "42501", kind=ProgrammingError),
        error("sorry, too many clients already", "53300"),
        error("cannot execute CREATE DATABASE in a read-only transaction", "25006"),
    ],
)
def test_other_errors_are_not_blamed_on_the_server(exc):
    assert not is_server_gone(exc)


def test_the_message_gives_the_cause_in_one_line_and_what_to_do():
    message = server_gone_message(
        "localhost:5432", "the setup of test database 'x_test'", error("server closed the\nconn")
    )
    assert "\n" not in message
    assert message.startswith("the PostgreSQL server at localhost:5432 went away during the setup")
    assert "(DriverError: server closed the)" in message
    assert "run again" in message


def _raised(exc: BaseException) -> pytest.ExceptionInfo[BaseException]:
    with pytest.raises(type(exc)) as info:
        raise exc
    return info


def test_a_lost_connection_is_reported_in_one_line_at_the_tests_own_line():
    info = _raised(error("server closed the connection unexpectedly"))
    short = short_repr_if_server_gone(info)
    assert short is not None
    assert short.startswith(f"{__file__}:")
    assert "server closed the connection unexpectedly (the database connection was lost)" in short
    assert "\n" not in short


@pytest.mark.parametrize(
    "exc", [AssertionError("assert 1 == 2"), error("statement timeout", "57014")]
)
def test_other_failures_keep_their_report(exc):
    assert short_repr_if_server_gone(_raised(exc)) is None


def test_the_line_reported_is_the_innermost_own_not_the_library_that_raised():
    """The innermost frame is the standard library's (a future re-raising): the report
    names the innermost line of the project's own code that led there, as an editor
    numbers it — not the test's outer call, not the library's."""
    future = Future()
    future.set_exception(error("server closed the connection unexpectedly"))
    lines = []

    def wait():
        lines.append(inspect.currentframe().f_lineno + 1)
        return future.result()

    with pytest.raises(OperationalError) as info:
        wait()
    short = short_repr_if_server_gone(info)
    assert short is not None
    assert short.startswith(f"{__file__}:{lines[0]}: ")
