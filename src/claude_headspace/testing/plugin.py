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

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import scoped_session

from .. import create_app
from ..config import ConfigError, mask_url
from ..database import db
from .cleanup import DEFAULT_STRATEGY, STRATEGIES, DatabaseCleaner
from .databases import TestDatabase, autocommit_engine
from .errors import TestDatabaseError
from .names import current_worker, url_for_test_database
from .server import Server, connect_server, server_mode

CLEANUP_SETTING = "TEST_DATABASE_CLEANUP"


class ResourceLeakWarning(UserWarning):
    """A test left a database session in a transaction, or a thread running."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("claude_headspace", "Claude Headspace test databases")
    group.addoption(
        "--db-cleanup",
        choices=STRATEGIES,
        default=None,
        help=f"how tables are emptied after each test (default: ini db_cleanup, env "
        f"{CLEANUP_SETTING}, else {DEFAULT_STRATEGY}); both leave the TRUNCATE state",
    )
    parser.addini("db_cleanup", f"cleanup strategy: {' or '.join(STRATEGIES)}", default="")


def cleanup_strategy(config: pytest.Config) -> str:
    """``--db-cleanup``, else ``TEST_DATABASE_CLEANUP``, else ini ``db_cleanup``."""
    for source, value in (
        ("--db-cleanup", config.getoption("--db-cleanup")),
        (CLEANUP_SETTING, os.environ.get(CLEANUP_SETTING, "").strip()),
        ("ini db_cleanup", str(config.getini("db_cleanup")).strip()),
    ):
        if value:
            if value not in STRATEGIES:
                raise pytest.UsageError(
                    f"{source}={value!r}: the cleanup strategy must be one of {STRATEGIES}."
                )
            return value
    return DEFAULT_STRATEGY


def pytest_configure(config: pytest.Config) -> None:
    cleanup_strategy(config)  # a bad setting fails the run up front, not per test


def pytest_report_header(config: pytest.Config) -> str | None:
    try:
        url = url_for_test_database()
    except (ConfigError, TestDatabaseError) as exc:
        return f"test database: not configured ({exc})"
    return (
        f"test database: {mask_url(url)} (+ _gw<N> per xdist worker), "
        f"server: {server_mode()}, cleanup: {cleanup_strategy(config)}"
    )


def _fail(exc: Exception) -> None:
    pytest.fail(f"{type(exc).__name__}: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def test_server() -> Iterator[Server]:
    try:
        server = connect_server(url_for_test_database())
    except (ConfigError, TestDatabaseError) as exc:
        _fail(exc)
    try:
        yield server
    finally:
        server.release()


@pytest.fixture(scope="session")
def test_database(test_server: Server) -> Iterator[TestDatabase]:
    import claude_headspace.models  # noqa: F401  -- every table on db.metadata

    database = TestDatabase(test_server, url_for_test_database(worker=current_worker()).database)
    try:
        database.setup(db.metadata)
    except TestDatabaseError as exc:
        _fail(exc)
    try:
        with _app_settings_point_at(database):
            yield database
    finally:
        database.teardown()


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
def make_test_database(test_server: Server) -> Iterator[Callable[[str], TestDatabase]]:
    """Extra, empty test databases by label (``claude_headspace_<label>_test[_gwN]``).

    Each is created on first request and dropped at the end of the session.
    """
    made: dict[str, TestDatabase] = {}

    def make(label: str) -> TestDatabase:
        if label not in made:
            name = url_for_test_database(label=label, worker=current_worker()).database
            database = TestDatabase(test_server, name)
            try:
                database.setup()
            except TestDatabaseError as exc:
                _fail(exc)
            made[label] = database
        return made[label]

    try:
        yield make
    finally:
        for database in made.values():
            database.teardown()


@pytest.fixture(scope="session")
def app(test_database: TestDatabase) -> Iterator[Flask]:
    flask_app = create_app(
        database_url=test_database.url.render_as_string(hide_password=False), testing=True
    )
    yield flask_app
    with flask_app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def database_cleaner(
    pytestconfig: pytest.Config, test_database: TestDatabase
) -> Iterator[DatabaseCleaner]:
    engine = autocommit_engine(test_database.url)
    connection = engine.connect()
    try:
        yield DatabaseCleaner(connection, db.metadata, cleanup_strategy(pytestconfig))
    finally:
        connection.close()
        engine.dispose()


@pytest.fixture
def app_context(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield


@pytest.fixture
def clean_database(
    request: pytest.FixtureRequest, app_context: None, database_cleaner: DatabaseCleaner
) -> Iterator[None]:
    """After the test: every table empty, sequences restarted; leaks reported."""
    threads_before = set(threading.enumerate())
    yield
    db.session.remove()
    report = database_cleaner.clean()
    if report.leaked:
        warnings.warn(
            ResourceLeakWarning(
                f"{request.node.nodeid} left {len(report.leaked)} database session(s) in a "
                f"transaction (terminated): {'; '.join(report.leaked)}"
            ),
            stacklevel=1,
        )
    running = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
    if running:
        warnings.warn(
            ResourceLeakWarning(
                f"{request.node.nodeid} left {len(running)} thread(s) running: "
                f"{', '.join(t.name for t in running)}"
            ),
            stacklevel=1,
        )


@pytest.fixture
def db_session(app_context: None) -> scoped_session:
    """Flask-SQLAlchemy's session, bound to the worker's test database."""
    return db.session


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
