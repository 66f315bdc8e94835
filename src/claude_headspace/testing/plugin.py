"""pytest wiring for the test-database machinery: options, fixtures, leak reports.

Registered from ``tests/conftest.py`` (``pytest_plugins``). Nothing here touches a
database until a test asks for one of the fixtures, so unit-only runs stay offline.

Fixtures:

* ``test_server`` (session): the PostgreSQL server: configured, or a private cluster;
* ``test_database`` (session, one per xdist worker): created, schema built, dropped;
* ``make_test_database`` (session): extra empty test databases by label;
* ``app`` (session): the Flask app bound to the worker's test database;
* ``app_context``: an application context for the test (factories need one);
* ``clean_database``: after the test, every table empty and sequences reset;
* ``db_session``: Flask-SQLAlchemy's session; ``client``: the Flask test client.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from .settings import CLEANUP_SETTING, CLEANUP_STRATEGIES, DEFAULT_CLEANUP_STRATEGY

# Flask and SQLAlchemy are imported inside the fixtures: the xdist controller and
# unit-only runs load this plugin but never need a database.
if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import scoped_session

    from .cleanup import DatabaseCleaner
    from .databases import TestDatabase
    from .server import Server


class ResourceLeakWarning(UserWarning):
    """A test left a database session in a transaction, or a thread running."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("claude_headspace", "Claude Headspace test databases")
    group.addoption(
        "--db-cleanup",
        choices=CLEANUP_STRATEGIES,
        default=None,
        help=f"how tables are emptied after each test (default: ini db_cleanup, env "
        f"{CLEANUP_SETTING}, else {DEFAULT_CLEANUP_STRATEGY}); both leave the TRUNCATE state",
    )
    parser.addini("db_cleanup", f"cleanup strategy: {' or '.join(CLEANUP_STRATEGIES)}", default="")


def cleanup_strategy(config: pytest.Config) -> str:
    """``--db-cleanup``, else ``TEST_DATABASE_CLEANUP``, else ini ``db_cleanup``."""
    for source, value in (
        ("--db-cleanup", config.getoption("--db-cleanup")),
        (CLEANUP_SETTING, os.environ.get(CLEANUP_SETTING, "").strip()),
        ("ini db_cleanup", str(config.getini("db_cleanup")).strip()),
    ):
        if value:
            if value not in CLEANUP_STRATEGIES:
                raise pytest.UsageError(
                    f"{source}={value!r}: the cleanup strategy must be one of {CLEANUP_STRATEGIES}."
                )
            return value
    return DEFAULT_CLEANUP_STRATEGY


def pytest_configure(config: pytest.Config) -> None:
    cleanup_strategy(config)  # a bad setting fails the run up front, not per test


def pytest_report_header(config: pytest.Config) -> str | None:
    if getattr(config.option, "numprocesses", None):
        return None  # the xdist controller stays light; each worker names its database
    from ..config import ConfigError, mask_url
    from .errors import TestDatabaseError
    from .names import url_for_test_database
    from .server import server_mode

    try:
        url = url_for_test_database()
    except (ConfigError, TestDatabaseError) as exc:
        return f"test database: not configured ({exc})"
    return (
        f"test database: {mask_url(url)} (+ _gw<N> per xdist worker), "
        f"server: {server_mode()}, cleanup: {cleanup_strategy(config)}"
    )


def _stop_run(request: pytest.FixtureRequest, exc: Exception) -> NoReturn:
    """No test database, no point going on: one clear message, then the run stops."""
    message = f"{type(exc).__name__}: {exc}"
    request.session.shouldstop = message
    raise pytest.fail.Exception(message, pytrace=False) from None


@pytest.fixture(scope="session")
def test_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    from ..config import ConfigError
    from .errors import TestDatabaseError
    from .names import url_for_test_database
    from .server import connect_server

    try:
        server = connect_server(url_for_test_database())
    except (ConfigError, TestDatabaseError) as exc:
        _stop_run(request, exc)
    try:
        yield server
    finally:
        server.release()


@pytest.fixture(scope="session")
def test_database(request: pytest.FixtureRequest, test_server: Server) -> Iterator[TestDatabase]:
    from sqlalchemy.exc import SQLAlchemyError

    import claude_headspace.models  # noqa: F401  -- every table on db.metadata

    from ..database import db, describe_error
    from .databases import TestDatabase
    from .errors import TestDatabaseError
    from .names import current_worker, url_for_test_database

    database = TestDatabase(test_server, url_for_test_database(worker=current_worker()).database)
    try:
        database.setup(db.metadata)
    except TestDatabaseError as exc:
        _stop_run(request, exc)
    try:
        with _app_settings_point_at(database):
            yield database
    finally:
        try:
            database.teardown()
        except SQLAlchemyError as exc:
            warnings.warn(
                ResourceLeakWarning(
                    f"could not drop test database {database.name!r} "
                    f"({describe_error(exc)}); the next run removes it"
                ),
                stacklevel=1,
            )


@contextmanager
def _app_settings_point_at(database: TestDatabase) -> Iterator[None]:
    """While tests run, DATABASE_URL names the test database.

    Code under test that builds its own app (``create_app()``) then reaches the test
    database, never the developer's.
    """
    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = database.url.render_as_string(hide_password=False)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved


@pytest.fixture(scope="session")
def make_test_database(
    request: pytest.FixtureRequest, test_server: Server
) -> Iterator[Callable[[str], TestDatabase]]:
    """Extra, empty test databases by label (``claude_headspace_<label>_test[_gwN]``).

    Each is created on first request and dropped at the end of the session.
    """
    from .databases import TestDatabase
    from .errors import TestDatabaseError
    from .names import current_worker, url_for_test_database

    made: dict[str, TestDatabase] = {}

    def make(label: str) -> TestDatabase:
        if label not in made:
            name = url_for_test_database(label=label, worker=current_worker()).database
            database = TestDatabase(test_server, name)
            try:
                database.setup()
            except TestDatabaseError as exc:
                _stop_run(request, exc)
            made[label] = database
        return made[label]

    try:
        yield make
    finally:
        for database in made.values():
            database.teardown()


@pytest.fixture(scope="session")
def app(test_database: TestDatabase, database_cleaner: DatabaseCleaner) -> Iterator[Flask]:
    from .. import create_app
    from ..database import db

    flask_app = create_app(
        database_url=test_database.url.render_as_string(hide_password=False), testing=True
    )
    with flask_app.app_context():
        _register_pool_connections(db.engine, database_cleaner)
    yield flask_app
    with flask_app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def database_cleaner(
    pytestconfig: pytest.Config, test_database: TestDatabase
) -> Iterator[DatabaseCleaner]:
    from ..database import db
    from .cleanup import DatabaseCleaner
    from .databases import autocommit_connection

    with autocommit_connection(test_database.url) as connection:
        yield DatabaseCleaner(connection, db.metadata, cleanup_strategy(pytestconfig))


def _register_pool_connections(engine: Engine, cleaner: DatabaseCleaner) -> None:
    """The app's pool keeps connections open between tests: that is not a leak."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def remember(dbapi_connection: Any, _record: Any) -> None:
        cleaner.expected_pids.add(dbapi_connection.get_backend_pid())


@pytest.fixture
def app_context(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield


@pytest.fixture
def clean_database(
    request: pytest.FixtureRequest, app_context: None, database_cleaner: DatabaseCleaner
) -> Iterator[None]:
    """After the test: every table empty, sequences restarted; leaks reported."""
    from sqlalchemy.exc import DBAPIError

    from ..database import db, describe_error

    threads_before = set(threading.enumerate())
    yield
    db.session.remove()
    try:
        report = database_cleaner.clean()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        message = (
            f"the PostgreSQL server went away during {request.node.nodeid} "
            f"({describe_error(exc)}); stopping the run. Start the server and run again: "
            "the next run removes what this one left."
        )
        request.session.shouldstop = message
        pytest.fail(message, pytrace=False)
    running = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
    left = []
    if report.opened:
        left.append(
            f"{len(report.opened)} database connection(s) open (pids "
            f"{', '.join(map(str, report.opened))}): close or dispose what the test opened"
        )
    if report.leaked:
        left.append(
            f"{len(report.leaked)} database session(s) in a transaction (terminated): "
            f"{'; '.join(report.leaked)}"
        )
    if running:
        left.append(f"{len(running)} thread(s) running: {', '.join(t.name for t in running)}")
    for what in left:
        warnings.warn(ResourceLeakWarning(f"{request.node.nodeid} left {what}"), stacklevel=1)


@pytest.fixture
def db_session(app_context: None) -> scoped_session:
    """Flask-SQLAlchemy's session, bound to the worker's test database."""
    from ..database import db

    return db.session


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
