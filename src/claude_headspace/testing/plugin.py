"""pytest wiring for the test-database machinery: settings, lifecycle, fixtures, leaks.

Registered from ``tests/conftest.py`` (``pytest_plugins``). The order of a run:

1. ``pytest_configure``: every test setting is read and checked once (the xdist
   controller, or the serial process) and handed to xdist workers as one object.
2. ``pytest_collection_finish`` (each process that runs tests): when a collected test
   needs a database, the server and the process's test database are set up now; a
   failure stops the run before any test, with one line, once for the whole run.
3. Tests run; after each, ``clean_database`` empties the tables and reports leaks.
4. ``pytest_sessionfinish``: the process drops what it created.

Unit-only runs never reach step 2, so they stay offline.

Where the app plugs in: three session fixtures that the project defines in its
``tests/conftest.py`` (as pytest-django's ``django_db_setup`` is overridden there); the
defaults below fail with a message saying so. The machinery knows the app only through
what they hand it:

* ``database_metadata``: the ``MetaData`` every test database's schema is built from;
* ``app_factory``: called as ``app_factory(database_url=...)``, returns a Flask app with
  Flask-SQLAlchemy initialised (its session and engine are taken from the app);
* ``migrations_directory``: the Flask-Migrate directory (for the ``migrations`` fixture).

Fixtures the machinery provides:

* ``test_settings`` (session): the validated :class:`TestSettings`;
* ``test_server`` (session): the PostgreSQL server: configured, or a private cluster;
* ``test_database`` (session, one per xdist worker): created, schema built, dropped;
* ``make_test_database`` (session): extra empty test databases by label;
* ``migrations`` (session): the app's Flask-Migrate history, to run on a test database;
* ``app`` (session): the app from ``app_factory``, bound to the worker's test database;
* ``database_cleaner`` (session): the cleaner that empties the worker's database;
* ``app_context``: an application context for the test (factories need one);
* ``reset_database``: a function that puts the database back as built, now;
* ``clean_database``: calls it after the test and reports what the test left;
* ``db_session``: the app's Flask-SQLAlchemy session; ``client``: the Flask test client.
"""

from __future__ import annotations

import atexit
import os
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from .settings import (
    CLEANUP_SETTING,
    CLEANUP_STRATEGIES,
    DEFAULT_CLEANUP_STRATEGY,
    SettingsError,
    TestSettings,
    read_settings,
)

# Flask is imported inside the fixtures: the xdist controller and unit-only runs load
# this plugin but never need the app.
if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient
    from flask_sqlalchemy import SQLAlchemy
    from sqlalchemy import MetaData
    from sqlalchemy.orm import scoped_session

    from .cleanup import DatabaseCleaner
    from .lifecycle import TestDatabase
    from .migrations import Migrations
    from .reset import ResetOutcome
    from .run import RunDatabases
    from .server import Server

WIRE_KEY = "claude_headspace_test_settings"
SUMMARY_KEY = "claude_headspace_databases_used"
POOL_WATCH = "claude_headspace.testing.pool_watch"
WIRE_ERROR_KEY = "claude_headspace_settings_error"
SETUP_FAILED = "could not set up the test databases"
DATABASE_FIXTURES = ("test_server", "test_database", "make_test_database")
_run_key: pytest.StashKey[RunDatabases] = pytest.StashKey()
_controller_key: pytest.StashKey[_XdistController] = pytest.StashKey()


class ResourceLeakWarning(UserWarning):
    """A test left a database session in a transaction, or a thread running."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("claude_headspace", "Claude Headspace test databases")
    group.addoption(
        "--db-cleanup",
        choices=CLEANUP_STRATEGIES,
        default=None,
        help=f"how tables are emptied after each test (default: env {CLEANUP_SETTING}, "
        f"else ini db_cleanup, else {DEFAULT_CLEANUP_STRATEGY}); both leave the TRUNCATE state",
    )
    parser.addini("db_cleanup", f"cleanup strategy: {' or '.join(CLEANUP_STRATEGIES)}", default="")
    group.addoption(
        "--column-order",
        choices=("report", "fail"),
        default=None,
        help="schema parity: whether a difference in column order between migrations and "
        "models fails the run (default: ini schema_column_order, else report: Alembic's "
        "add_column always appends)",
    )
    parser.addini("schema_column_order", "report or fail (see --column-order)", default="report")


def pytest_configure(config: pytest.Config) -> None:
    from .run import RunDatabases

    config.addinivalue_line(
        "markers",
        "changes_schema: the test changes the database beyond its rows on purpose; it is "
        "rebuilt after the test without a warning",
    )
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    settings: TestSettings | None = None
    error: str | None = None
    if workerinput is not None and (WIRE_KEY in workerinput or WIRE_ERROR_KEY in workerinput):
        error = workerinput.get(WIRE_ERROR_KEY)
        if WIRE_KEY in workerinput:
            settings = TestSettings.from_wire(workerinput[WIRE_KEY])
    else:
        try:
            settings = read_settings(
                os.environ,
                cleanup_option=config.getoption("--db-cleanup"),
                cleanup_ini=str(config.getini("db_cleanup")),
                workers=int(getattr(config.option, "numprocesses", 0) or 0),
            )
        except SettingsError as exc:
            error = exc.message  # fatal only for runs that need a database (see below)
    run = (workerinput or {}).get("testrunuid") or uuid.uuid4().hex
    worker = (workerinput or {}).get("workerid")
    databases = RunDatabases(
        settings, run=run, worker=worker, settings_error=error and f"bad test setting: {error}"
    )
    config.stash[_run_key] = databases
    # Ctrl-C can end an idle xdist worker's session without its sessionfinish (execnet's
    # main thread gets the KeyboardInterrupt): the process's exit still drops its database.
    atexit.register(databases.close)
    controller = _XdistController(settings, error)
    config.stash[_controller_key] = controller
    if workerinput is None and config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(controller, "claude_headspace")


class _XdistController:
    """In the xdist controller: hands every worker the settings read once, here, and
    collects what each worker used for the run's closing line."""

    def __init__(self, settings: TestSettings | None, error: str | None) -> None:
        self.settings, self.error = settings, error
        self.used: list[dict[str, Any]] = []

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        if self.settings is not None:
            node.workerinput[WIRE_KEY] = self.settings.to_wire()
        if self.error is not None:
            node.workerinput[WIRE_ERROR_KEY] = self.error

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        used = getattr(node, "workeroutput", {}).get(SUMMARY_KEY)
        if used:
            self.used.append(used)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """One line per run, also under -q and xdist: which server and databases were used."""
    if hasattr(config, "workerinput"):
        return
    used = config.stash[_controller_key].used
    if not used:
        return
    servers = sorted({str(u["server"]) for u in used})
    names = sorted(name for u in used for name in u["databases"])
    if not names:  # setup failed: the stop line said why
        return
    terminalreporter.write_line(
        f"test databases: {', '.join(names)} on {'; '.join(servers)}; cleanup: {used[0]['cleanup']}"
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    run = config.stash[_run_key]
    if run.failure is not None:
        return f"test databases: not usable ({run.failure})"
    settings = run.settings
    workers = f" (+ _gw<N> for {settings.workers} workers)" if settings.workers else ""
    return (
        f"test databases: {settings.describe()}{workers}, server: {settings.server_mode}, "
        f"cleanup: {settings.cleanup}"
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    """Set up the server and database now if any collected test needs them."""
    from .run import RunFailed

    needed = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    if not needed & set(DATABASE_FIXTURES):
        return
    run = session.config.stash[_run_key]
    try:
        if "test_database" in needed:
            run.database()  # created and claimed; the schema is built by the fixture
        else:
            run.server()
    except RunFailed:
        pass  # reported once by pytest_runtestloop


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """A failed setup stops the run before any test: one line, not pinned on a test.

    Under xdist the worker ends without running tests and the controller reports the
    first worker's reason once (``Interrupted: …``).
    """
    run = session.config.stash[_run_key]
    if run.failure is None or not run.attempted:
        return None
    session.shouldstop = f"{SETUP_FAILED}: {run.failure}"
    if hasattr(session.config, "workerinput"):
        return True
    raise session.Interrupted(session.shouldstop)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """After session fixtures are finalised (also after Ctrl-C): drop what we created."""
    run = session.config.stash[_run_key]
    summary = run.summary()
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[SUMMARY_KEY] = summary  # xdist sends it to the controller after this
    elif summary:
        session.config.stash[_controller_key].used.append(summary)
    run.close()


# -- where the app plugs in: the project's tests/conftest.py overrides these ----------
_NOT_PLUGGED_IN = (
    "the test machinery needs the {name!r} fixture: define it in tests/conftest.py "
    "(scope='session') to return {what}; see docs/testing.md, 'Where the app plugs in'"
)


@pytest.fixture(scope="session")
def database_metadata() -> MetaData:
    pytest.fail(
        _NOT_PLUGGED_IN.format(name="database_metadata", what="the models' MetaData"),
        pytrace=False,
    )


@pytest.fixture(scope="session")
def app_factory() -> Callable[..., Flask]:
    pytest.fail(
        _NOT_PLUGGED_IN.format(
            name="app_factory", what="a callable app_factory(database_url=...) -> Flask"
        ),
        pytrace=False,
    )


@pytest.fixture(scope="session")
def migrations_directory() -> Path:
    pytest.fail(
        _NOT_PLUGGED_IN.format(name="migrations_directory", what="the Flask-Migrate directory"),
        pytrace=False,
    )


def sqlalchemy_of(app: Flask) -> SQLAlchemy:
    """The app's Flask-SQLAlchemy extension: its session and engine are the tests'."""
    extension = app.extensions.get("sqlalchemy")
    if extension is None:
        pytest.fail(
            "the app from the app_factory fixture has no Flask-SQLAlchemy extension: "
            "call db.init_app(app) in the factory",
            pytrace=False,
        )
    return extension


def _stop_run(request: pytest.FixtureRequest, reason: str) -> NoReturn:
    """No test database, no point going on: one clear message, then the run stops."""
    _stop_after(request, f"{SETUP_FAILED}: {reason}")


@pytest.fixture(scope="session")
def test_settings(pytestconfig: pytest.Config) -> TestSettings:
    return pytestconfig.stash[_run_key].settings


@pytest.fixture(scope="session")
def test_server(request: pytest.FixtureRequest) -> Server:
    from .run import RunFailed

    try:
        return request.config.stash[_run_key].server()
    except RunFailed as exc:
        _stop_run(request, str(exc))


@pytest.fixture(scope="session")
def test_database(
    request: pytest.FixtureRequest, test_server: Server, database_metadata: MetaData
) -> Iterator[TestDatabase]:
    from .run import RunFailed

    try:
        database = request.config.stash[_run_key].database(database_metadata)
    except RunFailed as exc:
        _stop_run(request, str(exc))
    with _app_settings_point_at(database):
        yield database


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
) -> Callable[[str], TestDatabase]:
    """Extra, empty test databases by label (``claude_headspace_<label>_test[_gwN]``).

    Each is created (marked, like every test database) on first request and dropped at
    the end of the session.
    """
    from .run import RunFailed

    run = request.config.stash[_run_key]

    def make(label: str) -> TestDatabase:
        try:
            return run.extra_database(label)
        except RunFailed as exc:
            _stop_run(request, str(exc))

    return make


@pytest.fixture(scope="session")
def migrations(migrations_directory: Path, app_factory: Callable[..., Flask]) -> Migrations:
    from .migrations import Migrations

    return Migrations(Path(migrations_directory), app_factory)


@pytest.fixture(scope="session")
def app(
    app_factory: Callable[..., Flask],
    test_database: TestDatabase,
    database_cleaner: DatabaseCleaner,
) -> Iterator[Flask]:
    from .fence import PoolWatch

    flask_app = app_factory(database_url=test_database.url.render_as_string(hide_password=False))
    db = sqlalchemy_of(flask_app)
    with flask_app.app_context():
        # The app's pool keeps connections open between tests: that is not a leak.
        flask_app.extensions[POOL_WATCH] = PoolWatch(db.engine, database_cleaner.expected_pids.add)
        db.engine.dispose()  # every pooled connection is then made under the watch
    yield flask_app
    with flask_app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def database_cleaner(
    test_settings: TestSettings, test_database: TestDatabase, database_metadata: MetaData
) -> Iterator[DatabaseCleaner]:
    from ..connections import admin_engine
    from .cleanup import DatabaseCleaner
    from .lifecycle import APPLICATION_NAME

    engine = admin_engine(test_database.url, APPLICATION_NAME)
    cleaner = DatabaseCleaner(
        engine.connect(),
        database_metadata,
        test_settings.cleanup,
        run=test_database.run,
        claim_pid=test_database.claim_pid,
    )
    try:
        yield cleaner
    finally:
        cleaner.connection.close()  # the cleaner's latest connection (repairs replace it)
        engine.dispose()


@pytest.fixture
def app_context(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield


@pytest.fixture
def reset_database(
    request: pytest.FixtureRequest,
    app: Flask,
    database_cleaner: DatabaseCleaner,
    test_database: TestDatabase,
    database_metadata: MetaData,
) -> Callable[..., ResetOutcome]:
    """Put the database back as the session built it, now; returns what was found.

    ``clean_database`` calls it after every test; a test may call it itself to assert on
    what a misbehaviour leaves (see ``reset.py``). Threads started after this fixture
    count as the test's.
    """
    from .reset import reset_after_test

    db = sqlalchemy_of(app)
    threads_before = set(threading.enumerate())

    def reset(changes_schema: bool = False) -> ResetOutcome:
        db.session.remove()
        return reset_after_test(
            request.node.nodeid,
            started_threads=[t for t in threading.enumerate() if t not in threads_before],
            watch=app.extensions[POOL_WATCH],
            engine=db.engine,
            cleaner=database_cleaner,
            database=test_database,
            metadata=database_metadata,
            changes_schema=changes_schema,
        )

    return reset


@pytest.fixture
def clean_database(
    request: pytest.FixtureRequest,
    app_context: None,
    reset_database: Callable[..., ResetOutcome],
) -> Iterator[None]:
    """After the test: the database as the session built it, whatever the test did.

    What the test left or changed is reported once, naming it; a test marked
    ``changes_schema`` has its schema rebuilt without a warning.
    """
    yield
    outcome = reset_database(
        changes_schema=request.node.get_closest_marker("changes_schema") is not None
    )
    if outcome.stop:
        _stop_after(request, outcome.stop)
    for what in outcome.left:
        warnings.warn(ResourceLeakWarning(f"{request.node.nodeid} left {what}"), stacklevel=1)


def _stop_after(request: pytest.FixtureRequest, message: str) -> NoReturn:
    request.session.shouldstop = message
    pytest.fail(message, pytrace=False)


@pytest.fixture
def db_session(app: Flask, app_context: None) -> scoped_session[Any]:
    """The app's Flask-SQLAlchemy session, bound to the worker's test database."""
    return sqlalchemy_of(app).session


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
