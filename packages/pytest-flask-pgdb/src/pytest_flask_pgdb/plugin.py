"""pytest wiring: settings, the databases' lifecycle, fixtures, leaks.

Loaded by its ``pytest11`` entry point wherever pytest-flask-pgdb is installed. The
order of a run:

1. ``pytest_configure``: every setting is read and checked once (the xdist controller,
   or the serial process) and handed to xdist workers as one object.
2. ``pytest_collection_finish`` (each process that runs tests): when a collected test
   needs a database, the server and the process's test database are set up now; a
   failure stops the run before any test, with one line, once for the whole run.
3. Tests run; after each, ``pgdb_clean`` empties the tables and reports leaks.
4. ``pytest_sessionfinish``: the process drops what it created.

Runs that need no database (unit tests, ``--collect-only``) never reach step 2.

The binding (README, "Binding"): three session fixtures the project defines in its
``conftest.py`` (``pgdb_metadata``, ``pgdb_app_factory``, ``pgdb_migrations_directory``)
and, optionally, the ``pytest_pgdb_app_database`` hook (``hooks.py``): which database
is the app's own. Every fixture the plugin provides is named ``pgdb_*``, so an app's
own ``app``, ``client`` and ``db_session`` fixtures (or pytest-flask's) never collide.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from pytest_flask_pgdb import environment_variable
from pytest_flask_pgdb.app import sqlalchemy_of
from pytest_flask_pgdb.freeze import enabled as freeze_enabled
from pytest_flask_pgdb.freeze import freeze_imports
from pytest_flask_pgdb.parity.fixtures import (
    BASELINE_INI,
    DEFAULT_BASELINE,
    WRITE_BASELINE_OPTION,
    pgdb_migrated_schema,
    pgdb_models_database,
    pgdb_models_schema,
    pgdb_parity_baseline,
    pgdb_pg_dump,
)
from pytest_flask_pgdb.settings import (
    CLEANUP_SETTING,
    CLEANUP_STRATEGIES,
    DEFAULT_CLEANUP_STRATEGY,
    SettingsError,
    TestSettings,
    read_settings,
)
from pytest_flask_pgdb.tracebacks import short_repr_if_server_gone
from pytest_flask_pgdb.workers import (
    DEFAULT_TESTS_PER_WORKER,
    auto_workers,
    count_tests,
    parse_tests_per_worker,
)

# Flask is imported inside the fixtures: the xdist controller and unit-only runs load
# this plugin but never need the app.
if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient
    from sqlalchemy import MetaData
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import scoped_session

    from pytest_flask_pgdb.databases.lifecycle import TestDatabase
    from pytest_flask_pgdb.databases.run import RunDatabases
    from pytest_flask_pgdb.databases.server import Server
    from pytest_flask_pgdb.parity.migrations import Migrations
    from pytest_flask_pgdb.reset.after_test import ResetOutcome
    from pytest_flask_pgdb.reset.cleanup import DatabaseCleaner

DOCS = "the pytest-flask-pgdb README"
WIRE_KEY = "pgdb_settings"
SUMMARY_KEY = "pgdb_databases_used"
POOL_WATCH = "pytest_flask_pgdb.pool_watch"
INI_KEYS = ("project", "base_name", "name_pattern", "app_url_env")
WIRE_ERROR_KEY = "pgdb_settings_error"
SETUP_FAILED = "could not set up the test databases"
DATABASE_FIXTURES = ("pgdb_server", "pgdb_database", "pgdb_make_database")
KEEP_AFTER = (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
_run_key: pytest.StashKey[RunDatabases] = pytest.StashKey()
# The schema-parity fixtures (parity/fixtures.py) are the plugin's too: pytest finds a
# plugin's fixtures among its module's names.
PARITY_FIXTURES = (
    pgdb_pg_dump,
    pgdb_models_database,
    pgdb_migrated_schema,
    pgdb_models_schema,
    pgdb_parity_baseline,
)
_controller_key: pytest.StashKey[_XdistController] = pytest.StashKey()
_freeze_key: pytest.StashKey[bool] = pytest.StashKey()


class ResourceLeakWarning(UserWarning):
    """A test left a database session in a transaction, or a thread running."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_flask_pgdb import hooks

    pluginmanager.add_hookspecs(hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pgdb", "PostgreSQL test databases (pytest-flask-pgdb)")
    group.addoption(
        "--pgdb-cleanup",
        choices=CLEANUP_STRATEGIES,
        default=None,
        help=f"how tables are emptied after each test (default: env {CLEANUP_SETTING}, "
        f"else ini pgdb_cleanup, else {DEFAULT_CLEANUP_STRATEGY}); both leave the TRUNCATE state",
    )
    group.addoption(
        "--pgdb-column-order",
        choices=("report", "fail"),
        default=None,
        help="schema parity: whether a difference in column order between migrations and "
        "models fails the run (default: ini pgdb_column_order, else report: Alembic's "
        "add_column always appends)",
    )
    group.addoption(
        WRITE_BASELINE_OPTION,
        action="store_true",
        help="schema parity: write what the parity checks find now into the baseline "
        "(ini pgdb_parity_baseline) instead of failing on it; reasons already given are kept",
    )
    group.addoption(
        "--pgdb-namespace",
        default=None,
        help="one more component in every test database name, e.g. a CI shard's number "
        "(default: env TEST_DATABASE_NAMESPACE, else the plain names, or the first free "
        "n2, n3, ... while other runs hold them)",
    )
    group.addoption(
        "--pgdb-leftovers",
        action="store_true",
        help="list what test runs of this project left (databases, private clusters), then exit",
    )
    group.addoption(
        "--pgdb-remove-leftovers",
        action="store_true",
        help="remove what dead test runs of this project left, then exit",
    )
    parser.addini(
        "pgdb_cleanup", f"cleanup strategy: {' or '.join(CLEANUP_STRATEGIES)}", default=""
    )
    parser.addini(
        BASELINE_INI,
        "schema parity: the file of accepted differences, beside the pytest configuration "
        f"(default {DEFAULT_BASELINE}; none there: none accepted)",
        default="",
    )
    parser.addini("pgdb_column_order", "report or fail (see --pgdb-column-order)", default="report")
    parser.addini(
        "pgdb_project", "the project's name in test databases' marks (default: the base name)"
    )
    parser.addini(
        "pgdb_base_name", "base of test database names (default: the app's database name)"
    )
    parser.addini(
        "pgdb_name_pattern", "test database names, e.g. {base}_{label}_{worker}_test (see README)"
    )
    parser.addini(
        "pgdb_tests_per_worker",
        f"-n auto starts a worker per this many selected test functions, at most one per "
        f"CPU; under two: serial (default {DEFAULT_TESTS_PER_WORKER})",
        default=str(DEFAULT_TESTS_PER_WORKER),
    )
    parser.addini(
        "pgdb_gc_freeze",
        "after collection, freeze what the imports made out of the garbage collector "
        "(faster collections and exit; default true)",
        default="true",  # read by freeze.enabled (pytest's type="bool" trips mypy 1.20)
    )
    parser.addini(
        "pgdb_app_url_env",
        "the environment variable the app reads its database URL from (default DATABASE_URL): "
        "the tests never use that database, and point the variable at the test database",
    )


def read_pytest_settings(config: pytest.Config) -> TestSettings:
    """The settings as this run's options, ini keys, binding and environment give them."""
    app_database = config.hook.pytest_pgdb_app_database(config=config, environ=os.environ)
    return read_settings(
        os.environ,
        app_database=app_database,
        ini={key: str(config.getini(f"pgdb_{key}") or "") for key in INI_KEYS},
        cleanup_option=config.getoption("--pgdb-cleanup"),
        cleanup_ini=str(config.getini("pgdb_cleanup")),
        namespace_option=config.getoption("--pgdb-namespace"),
        workers=int(getattr(config.option, "numprocesses", 0) or 0),
    )


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto``: workers only where they pay (``workers.py``)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS") or config.option.numprocesses != "auto":
        return None  # xdist's own answer
    try:
        per_worker = parse_tests_per_worker(str(config.getini("pgdb_tests_per_worker")))
    except SettingsError as exc:
        raise pytest.UsageError(exc.message) from None
    return auto_workers(count_tests(config.args, config.invocation_params.dir), per_worker)


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """``--pgdb-leftovers`` / ``--pgdb-remove-leftovers``: a report, then exit."""
    remove = bool(config.getoption("--pgdb-remove-leftovers"))
    if not (remove or config.getoption("--pgdb-leftovers")):
        return None
    from pytest_flask_pgdb.databases.leftovers import report_leftovers

    try:
        settings = read_pytest_settings(config)
    except SettingsError as exc:
        print(f"error: bad test setting: {exc.message}")
        return 2
    report_leftovers(settings, remove=remove, say=print)
    return 0


def pytest_configure(config: pytest.Config) -> None:
    from pytest_flask_pgdb.databases.run import RunDatabases

    config.addinivalue_line(
        "markers",
        "changes_schema: the test changes the database beyond its rows on purpose; it is "
        "rebuilt after the test without a warning",
    )
    config.stash[_freeze_key] = freeze_enabled(str(config.getini("pgdb_gc_freeze")))
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    settings: TestSettings | None = None
    error: str | None = None
    if workerinput is not None and (WIRE_KEY in workerinput or WIRE_ERROR_KEY in workerinput):
        error = workerinput.get(WIRE_ERROR_KEY)
        if WIRE_KEY in workerinput:
            settings = TestSettings.from_wire(workerinput[WIRE_KEY])
    else:
        try:
            settings = read_pytest_settings(config)
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
        config.pluginmanager.register(controller, "pgdb_xdist_controller")


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
        f"test databases: {', '.join(names)} on {'; '.join(servers)}; cleanup: "
        f"{used[0]['cleanup']}{namespace_note(used)}"
    )
    terminalreporter.write_line(database_cost(used))
    in_force = sorted({line for u in used for line in u.get("settings_in_force", ())})
    if in_force:
        terminalreporter.write_line(
            f"connection settings in force for the tests: {'; '.join(in_force)} (they apply "
            "to the app's connections too: a failure may be theirs)"
        )
    for line in sorted({line for u in used for line in u.get("ended_at_drop", ())}):
        terminalreporter.write_line(f"dropping the test databases: {line}")
    for line in sorted({line for u in used for line in u.get("left_by_sweep", ())}):
        terminalreporter.write_line(f"the sweep of abandoned test databases left {line}")
    for line in sorted({line for u in used for line in u.get("notes", ())}):
        terminalreporter.write_line(line)


def namespace_note(used: list[dict[str, Any]]) -> str:
    """The closing line's word on names: in a namespace, and why."""
    spaces = sorted({str(u.get("namespace") or "") for u in used} - {""})
    if not spaces:
        return ""
    why = (
        "another live run holds the plain names"
        if any(u.get("automatic_namespace") for u in used)
        else "as set"
    )
    return f"; namespace {', '.join(spaces)} ({why})"


def database_cost(used: list[dict[str, Any]]) -> str:
    """The closing line's cost: setup per process, reset per test, share of the run."""
    processes = len(used)
    setup = sum(u["setup"] for u in used) / processes
    resets = sum(u["resets"] for u in used)
    reset = sum(u["reset"] for u in used)
    share = (sum(u["setup"] for u in used) + reset) / max(sum(u["wall"] for u in used), 1e-9)
    provided = sum(bool(u["provided"]) for u in used)
    reused = sum(bool(u["reused"]) for u in used)
    if provided > 1 and reused in (0, provided):
        kind = "kept from the last run" if reused else "cloned from the schema template"
        how = f" (all {provided} {kind})"
    elif provided > 1:
        how = f" ({reused} of {provided} kept from the last run, the others cloned)"
    elif provided:
        how = " (kept from the last run)" if reused else " (cloned from the schema template)"
    else:
        how = ""
    per_test = f", reset {reset / resets * 1000:.1f} ms each ({resets} resets)" if resets else ""
    return (
        f"database work: setup {setup * 1000:.0f} ms per process{how}{per_test}: "
        f"{share:.0%} of the run"
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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Set up the server and database now if any collected test needs them; then freeze
    what collection's imports made (``freeze.py``).

    First among the hooks: an xdist worker whose setup failed ends here, before xdist's
    own hook tells the controller its collection (``_end_worker_that_failed``).
    """
    try:
        _set_up_what_tests_need(session)
    finally:
        freeze_imports(session.config.stash[_freeze_key])
    _end_worker_that_failed(session)


def _end_worker_that_failed(session: pytest.Session) -> None:
    """A worker without its databases stops before the controller may send it tests: a
    worker that ends after that makes the controller fail sending (an INTERNALERROR).
    The controller reports its reason once (``Interrupted: …``)."""
    run = session.config.stash[_run_key]
    if hasattr(session.config, "workerinput") and run.failure is not None and run.attempted:
        session.shouldstop = f"{SETUP_FAILED}: {run.failure}"
        pytest.exit(session.shouldstop, returncode=pytest.ExitCode.TESTS_FAILED)


def runs_no_tests(config: pytest.Config) -> bool:
    """``--collect-only``, ``--fixtures``, ``--fixtures-per-test``: pytest collects and
    reports, runs nothing; nothing of ours may touch a server then."""
    option = config.option
    return bool(
        getattr(option, "collectonly", False)
        or getattr(option, "showfixtures", False)
        or getattr(option, "show_fixtures_per_test", False)
    )


def _set_up_what_tests_need(session: pytest.Session) -> None:
    from pytest_flask_pgdb.databases.run import RunFailed

    if runs_no_tests(session.config):
        return
    needed = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    if not needed & set(DATABASE_FIXTURES):
        return
    run = session.config.stash[_run_key]
    try:
        if "pgdb_database" in needed:
            run.database()  # claimed; the fixture provides the schema
        else:
            run.server()
    except RunFailed:
        pass  # reported once by pytest_runtestloop


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.excinfo is not None and report.failed:
        short = short_repr_if_server_gone(call.excinfo)
        if short is not None:
            report.longrepr = short
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """A failed setup stops the run before any test: one line, not pinned on a test.
    (An xdist worker whose setup failed ended at collection.)"""
    run = session.config.stash[_run_key]
    if run.failure is None or not run.attempted:
        return None
    session.shouldstop = f"{SETUP_FAILED}: {run.failure}"
    raise session.Interrupted(session.shouldstop)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After session fixtures are finalised (also after Ctrl-C): drop what we created."""
    run = session.config.stash[_run_key]
    summary = run.summary()
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[SUMMARY_KEY] = summary  # xdist sends it to the controller after this
    elif summary:
        session.config.stash[_controller_key].used.append(summary)
    # Kept for the next run only when every test's reset ran: not after Ctrl-C, nor
    # when the plugin stopped the run (server gone, claim lost).
    run.close(keep=exitstatus in KEEP_AFTER and not run.stopped)
    if summary:  # (the same object xdist sends, or the controller reads, after this)
        summary["ended_at_drop"] = run.ended_at_drop


# -- the binding: the project's conftest.py overrides these (README, 'Binding') ---------
_NOT_PLUGGED_IN = (
    "pytest-flask-pgdb needs the {name!r} fixture: define it in your conftest.py "
    "(scope='session') to return {what}; see " + DOCS + " ('Binding')"
)


@pytest.fixture(scope="session")
def pgdb_metadata() -> MetaData:
    pytest.fail(
        _NOT_PLUGGED_IN.format(name="pgdb_metadata", what="the models' MetaData"),
        pytrace=False,
    )


@pytest.fixture(scope="session")
def pgdb_app_factory() -> Callable[..., Flask]:
    pytest.fail(
        _NOT_PLUGGED_IN.format(
            name="pgdb_app_factory", what="a callable pgdb_app_factory(database_url=...) -> Flask"
        ),
        pytrace=False,
    )


@pytest.fixture(scope="session")
def pgdb_migrations_directory() -> Path:
    pytest.fail(
        _NOT_PLUGGED_IN.format(
            name="pgdb_migrations_directory", what="the Flask-Migrate directory"
        ),
        pytrace=False,
    )


def _stop_run(request: pytest.FixtureRequest, reason: str) -> NoReturn:
    """No test database, no point going on: one clear message, then the run stops."""
    _stop_after(request, f"{SETUP_FAILED}: {reason}")


@pytest.fixture(scope="session")
def pgdb_settings(pytestconfig: pytest.Config) -> TestSettings:
    return pytestconfig.stash[_run_key].settings


@pytest.fixture(scope="session")
def pgdb_server(request: pytest.FixtureRequest) -> Server:
    from pytest_flask_pgdb.databases.run import RunFailed

    try:
        return request.config.stash[_run_key].server()
    except RunFailed as exc:
        _stop_run(request, str(exc))


@pytest.fixture(scope="session")
def pgdb_database(
    request: pytest.FixtureRequest, pgdb_server: Server, pgdb_metadata: MetaData
) -> Iterator[TestDatabase]:
    from pytest_flask_pgdb.databases.run import RunFailed

    try:
        database = request.config.stash[_run_key].database(pgdb_metadata)
    except RunFailed as exc:
        _stop_run(request, str(exc))
    # While tests run, the app's URL variable (DATABASE_URL) names the test database:
    # code under test that builds its own app then reaches it, never the developer's.
    variable = request.config.stash[_run_key].settings.app_url_env
    with environment_variable(variable, database.url.render_as_string(hide_password=False)):
        yield database


@pytest.fixture(scope="session")
def pgdb_make_database(
    request: pytest.FixtureRequest, pgdb_server: Server
) -> Callable[[str], TestDatabase]:
    """Extra, empty test databases by label (``<base>_<label>_test[_gwN]`` by default).

    Each is created (marked, like every test database) on first request and dropped at
    the end of the session.
    """
    from pytest_flask_pgdb.databases.run import RunFailed

    run = request.config.stash[_run_key]

    def make(label: str) -> TestDatabase:
        try:
            return run.extra_database(label)
        except RunFailed as exc:
            _stop_run(request, str(exc))

    return make


@pytest.fixture(scope="session")
def pgdb_migrations(
    pgdb_migrations_directory: Path, pgdb_app_factory: Callable[..., Flask]
) -> Migrations:
    """The app's Flask-Migrate history, to run on a test database. With several heads
    no upgrade can run: every test that would run one is skipped, saying so (the parity
    check of heads is the one failure)."""
    from pytest_flask_pgdb.parity.migrations import Migrations

    migrations = Migrations(Path(pgdb_migrations_directory), pgdb_app_factory)
    if why := migrations.several_heads():
        pytest.skip(f"{why}; test_migrations_have_one_head fails on it")
    return migrations


@pytest.fixture(scope="session")
def pgdb_migrated_database(
    request: pytest.FixtureRequest, pgdb_server: Server, pgdb_migrations: Migrations
) -> TestDatabase:
    """A sibling database (``…_migrations_test[_gw<N>]``) upgraded to head by the app's
    migrations: a clone of a template built once per version of the migration files
    (and of the server), so the history runs again only when a file of it changes."""
    from pytest_flask_pgdb.databases.run import RunFailed

    run = request.config.stash[_run_key]

    def build(staging: str) -> None:
        pgdb_migrations.upgrade(pgdb_server.url(staging), "head")

    try:
        return run.cloned_database("migrations", "migrations", pgdb_migrations.key, build)
    except RunFailed as exc:
        _stop_run(request, str(exc))


@pytest.fixture(scope="session")
def pgdb_app(
    pgdb_app_factory: Callable[..., Flask],
    pgdb_database: TestDatabase,
    pgdb_cleaner: DatabaseCleaner,
) -> Iterator[Flask]:
    from pytest_flask_pgdb.reset.fence import PoolWatch

    flask_app = pgdb_app_factory(
        database_url=pgdb_database.url.render_as_string(hide_password=False)
    )
    db = sqlalchemy_of(flask_app)
    with flask_app.app_context():
        # The app's pool keeps connections open between tests: that is not a leak.
        flask_app.extensions[POOL_WATCH] = PoolWatch(db.engine, pgdb_cleaner.expected_pids.add)
        db.engine.dispose()  # every pooled connection is then made under the watch
    yield flask_app
    flask_app.extensions[POOL_WATCH].close()
    with flask_app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def pgdb_cleaner(
    request: pytest.FixtureRequest,
    pgdb_settings: TestSettings,
    pgdb_database: TestDatabase,
    pgdb_metadata: MetaData,
) -> Iterator[DatabaseCleaner]:
    from sqlalchemy.exc import SQLAlchemyError

    from pytest_flask_pgdb.databases.connections import admin_engine
    from pytest_flask_pgdb.databases.lifecycle import APPLICATION_NAME
    from pytest_flask_pgdb.reset.cleanup import DatabaseCleaner

    engine = admin_engine(pgdb_database.url, APPLICATION_NAME)
    try:
        cleaner = DatabaseCleaner(
            engine.connect(),
            pgdb_metadata,
            pgdb_settings.cleanup,
            run=pgdb_database.run,
            claim_pid=pgdb_database.claim_pid,
        )
        if pgdb_database.reused:
            cleaner.clean()  # a kept database's schema was checked; its rows are made sure of
    except SQLAlchemyError as exc:
        engine.dispose()
        _stop_run(
            request,
            _database_failure(request, exc, f"the cleaner's connection to {pgdb_database.name!r}"),
        )
    try:
        yield cleaner
    finally:
        cleaner.connection.close()  # the cleaner's latest connection (repairs replace it)
        engine.dispose()


@pytest.fixture
def pgdb_app_context(pgdb_app: Flask) -> Iterator[None]:
    with pgdb_app.app_context():
        yield


@pytest.fixture
def pgdb_reset(
    request: pytest.FixtureRequest,
    pgdb_app: Flask,
    pgdb_cleaner: DatabaseCleaner,
    pgdb_database: TestDatabase,
    pgdb_metadata: MetaData,
) -> Callable[..., ResetOutcome]:
    """Put the database back as the session built it, now; returns what was found.

    ``pgdb_clean`` calls it after every test; a test may call it itself to assert on
    what a misbehaviour leaves (see ``reset/after_test.py``). Threads started after this fixture
    count as the test's.
    """
    from pytest_flask_pgdb.reset.after_test import reset_after_test

    db = sqlalchemy_of(pgdb_app)
    threads_before = set(threading.enumerate())

    run = request.config.stash[_run_key]

    def reset(changes_schema: bool = False) -> ResetOutcome:
        start = time.perf_counter()
        try:
            return _reset(changes_schema)
        finally:
            run.resets += 1
            run.reset_seconds += time.perf_counter() - start

    def _reset(changes_schema: bool) -> ResetOutcome:
        db.session.remove()
        return reset_after_test(
            request.node.nodeid,
            started_threads=[t for t in threading.enumerate() if t not in threads_before],
            watch=pgdb_app.extensions[POOL_WATCH],
            engine=db.engine,
            cleaner=pgdb_cleaner,
            database=pgdb_database,
            metadata=pgdb_metadata,
            changes_schema=changes_schema,
        )

    return reset


@pytest.fixture
def pgdb_clean(
    request: pytest.FixtureRequest,
    pgdb_app_context: None,
    pgdb_reset: Callable[..., ResetOutcome],
) -> Iterator[None]:
    """After the test: the database as the session built it, whatever the test did.

    What the test left or changed is reported once, naming it; a test marked
    ``changes_schema`` has its schema rebuilt without a warning.
    """
    from sqlalchemy.exc import SQLAlchemyError

    yield
    try:
        outcome = pgdb_reset(
            changes_schema=request.node.get_closest_marker("changes_schema") is not None
        )
    except SQLAlchemyError as exc:  # the database's state is unknown: no test may follow
        _stop_after(
            request, _database_failure(request, exc, f"the reset after {request.node.nodeid}")
        )
    if outcome.stop:
        _stop_after(request, outcome.stop)
    for what in outcome.left:
        warnings.warn(ResourceLeakWarning(f"{request.node.nodeid} left {what}"), stacklevel=1)


def _database_failure(request: pytest.FixtureRequest, exc: SQLAlchemyError, during: str) -> str:
    """One line for a database error ``during`` something: a server that went away as
    such, anything else with the connection settings that may have caused it."""
    from pytest_flask_pgdb.databases import session_defaults
    from pytest_flask_pgdb.databases.connections import (
        describe_error,
        is_server_gone,
        server_gone_message,
    )

    run = request.config.stash[_run_key]
    if is_server_gone(exc):
        return server_gone_message(run.server().describe(), during, exc)
    cause = session_defaults.as_cause(run.settings_in_force())
    return f"{during} failed: {describe_error(exc)}.{cause}"


def run_databases(config: pytest.Config) -> RunDatabases:
    """This process's test databases (for the parity fixtures' notes)."""
    return config.stash[_run_key]


def stop_run_with(request: pytest.FixtureRequest, message: str) -> NoReturn:
    """A setting that makes the rest of the run pointless: one message, the run stops."""
    _stop_after(request, message)


def _stop_after(request: pytest.FixtureRequest, message: str) -> NoReturn:
    request.session.shouldstop = message
    request.config.stash[_run_key].stopped = True
    # Not chained to the exception being handled: the message says all there is.
    raise pytest.fail.Exception(message, pytrace=False) from None


@pytest.fixture
def pgdb_session(pgdb_app: Flask, pgdb_app_context: None) -> scoped_session[Any]:
    """The app's Flask-SQLAlchemy session, bound to the worker's test database."""
    return sqlalchemy_of(pgdb_app).session


@pytest.fixture
def pgdb_client(pgdb_app: Flask) -> FlaskClient:
    """The Flask test client of the app bound to the worker's test database."""
    return pgdb_app.test_client()
