"""Every setting of the plugin, read and checked once: :class:`TestSettings`.

The pytest plugin calls :func:`read_settings` once per run (in the xdist controller, or
the one process of a serial run) and hands the result to xdist workers; nothing below
the plugin reads the environment. A bad value is one :class:`SettingsError` naming the
setting, the value (never a password) and what to do.

Where settings come from (see the README's table):

* the app's own database, :class:`AppDatabase`: from the app's binding (the
  ``pytest_pgdb_app_database`` hook), else the environment variable ini
  ``pgdb_app_url_env`` names (``DATABASE_URL``). The tests never use it, nor any
  database of its name family; the plugin parses no app configuration file itself;
* ``TEST_DATABASE_*`` environment variables (CI), command-line options, ini keys.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from pytest_flask_pgdb.databases.guard import MAX_NAME_BYTES, is_test_database_name
from pytest_flask_pgdb.databases.names import NamePattern
from pytest_flask_pgdb.errors import SettingsError
from pytest_flask_pgdb.urls import mask_url, parse_database_url

__all__ = ["AppDatabase", "SettingsError", "TestSettings", "read_settings"]

TEST_DATABASE_URL = "TEST_DATABASE_URL"
SERVER_SETTING = "TEST_DATABASE_SERVER"
SERVER_MODES = ("auto", "configured", "private")
CLEANUP_SETTING = "TEST_DATABASE_CLEANUP"
CLEANUP_STRATEGIES = ("delete", "truncate")
DEFAULT_CLEANUP_STRATEGY = "delete"
LOCK_WAIT_SETTING = "TEST_DATABASE_LOCK_WAIT"
DEFAULT_LOCK_WAIT_SECONDS = 5.0
MAX_LOCK_WAIT_SECONDS = 3600.0
BINDIR_SETTING = "TEST_DATABASE_PG_BINDIR"
NAMESPACE_SETTING = "TEST_DATABASE_NAMESPACE"
NAMESPACE = re.compile(r"^[a-z0-9]{1,16}$")
DEFAULT_APP_URL_ENV = "DATABASE_URL"
# Where test databases live when neither TEST_DATABASE_URL nor the app says.
DEFAULT_SERVER = URL.create("postgresql+psycopg2", username="postgres", host="localhost", port=5432)
# Every variable of the plugin's own that changes which database or server is used.
TEST_ENVIRONMENT: tuple[str, ...] = (
    TEST_DATABASE_URL,
    SERVER_SETTING,
    CLEANUP_SETTING,
    LOCK_WAIT_SETTING,
    BINDIR_SETTING,
    NAMESPACE_SETTING,
)
# libpq parameters that would connect to another database than the URL's path names.
RENAMING_QUERY_KEYS = ("dbname", "database", "service", "servicefile")
PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


@dataclass(frozen=True)
class AppDatabase:
    """The app's own database, as the app's binding knows it.

    ``url`` is the database the app uses: the tests refuse it and every test-like name
    of its family. ``source`` says which setting gave it (for messages).
    ``server_url``, when given, is where the test databases are created instead of
    ``url``'s server (an app whose URL carries more than an address gives its fields),
    and ``server_source`` which settings give that address (for advice).
    """

    url: URL
    source: str
    server_url: URL | None = None
    server_source: str = ""

    @property
    def name(self) -> str:
        """The database the app connects to (libpq's ``dbname`` wins over the path)."""
        dbname = self.url.query.get("dbname")
        return dbname if isinstance(dbname, str) else self.url.database or ""


@dataclass(frozen=True)
class TestSettings:
    """What the plugin needs to know, validated.

    ``test_url`` is the serial run's test database (workers' and extra databases'
    names follow ``name_pattern``); ``app_database`` is the name of the app's own
    database, which the tests refuse to use.
    """

    __test__ = False

    test_url: URL
    explicit_test_url: bool
    app_database: str
    app_database_source: str
    server_source: str = ""  # which settings give the test server's address (for advice)
    project: str = ""
    name_pattern: str = NamePattern().pattern
    app_url_env: str = DEFAULT_APP_URL_ENV
    server_mode: str = "auto"
    cleanup: str = DEFAULT_CLEANUP_STRATEGY
    lock_wait: float = DEFAULT_LOCK_WAIT_SECONDS
    pg_bindir: Path | None = None
    workers: int = 0
    namespace: str = ""  # explicit; else each run takes one on the server (namespaces.py)

    @property
    def names(self) -> NamePattern:
        return NamePattern(self.name_pattern)

    @property
    def base_name(self) -> str:
        return self.names.base_of(self.test_url.database or "") or ""

    def to_wire(self) -> dict[str, Any]:
        """Plain data for xdist's ``workerinput`` (a channel between our own processes)."""
        data = asdict(self)
        data["test_url"] = self.test_url.render_as_string(hide_password=False)
        data["pg_bindir"] = str(self.pg_bindir) if self.pg_bindir else None
        return data

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> TestSettings:
        values = dict(data)
        values["test_url"] = make_url(values["test_url"])
        values["pg_bindir"] = Path(values["pg_bindir"]) if values["pg_bindir"] else None
        return cls(**values)

    def describe(self) -> str:
        """For the run's header: no password."""
        return mask_url(self.test_url)


def read_settings(
    environ: Mapping[str, str],
    *,
    app_database: AppDatabase | None = None,
    ini: Mapping[str, str] | None = None,
    cleanup_option: str | None = None,
    cleanup_ini: str = "",
    workers: int = 0,
    namespace_option: str | None = None,
) -> TestSettings:
    """Read every setting from ``environ``, the app's binding and pytest's options.

    ``ini`` holds the ini keys without their ``pgdb_`` prefix: ``project``,
    ``base_name``, ``name_pattern``, ``app_url_env``.
    """
    ini = ini or {}
    pattern = NamePattern.parse(ini.get("name_pattern", ""))
    app_url_env = _app_url_env(ini.get("app_url_env", ""))
    if app_database is None:
        app_database = _app_database_from(environ, app_url_env)
    explicit = bool(environ.get(TEST_DATABASE_URL, "").strip())
    test_url = (
        _explicit_test_url(environ[TEST_DATABASE_URL], pattern)
        if explicit
        else _derived_test_url(app_database, pattern, ini.get("base_name", ""))
    )
    settings = TestSettings(
        test_url=test_url,
        explicit_test_url=explicit,
        app_database=app_database.name if app_database else "",
        app_database_source=app_database.source if app_database else "",
        server_source=_server_source(explicit, app_database),
        project=_project(ini.get("project", ""), pattern.base_of(test_url.database or "")),
        name_pattern=pattern.pattern,
        app_url_env=app_url_env,
        server_mode=_server_mode(environ),
        cleanup=_cleanup(environ, cleanup_option, cleanup_ini),
        lock_wait=_lock_wait(environ),
        pg_bindir=_bindir(environ),
        workers=workers,
        namespace=_namespace(environ, namespace_option),
    )
    _check_names(settings)
    return settings


def _server_source(explicit: bool, app: AppDatabase | None) -> str:
    if explicit or app is None:
        return TEST_DATABASE_URL
    return f"{app.server_source or app.source} or {TEST_DATABASE_URL}"


def _app_url_env(raw: str) -> str:
    name = raw.strip() or DEFAULT_APP_URL_ENV
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise SettingsError(
            f"pgdb_app_url_env={raw[:40]!r} is not an environment variable name "
            f"(default {DEFAULT_APP_URL_ENV})."
        )
    return name


def _app_database_from(environ: Mapping[str, str], variable: str) -> AppDatabase | None:
    """The default binding: the app's URL is in an environment variable (or unknown)."""
    raw = environ.get(variable, "").strip()
    if not raw:
        return None
    try:
        url = parse_database_url(raw, variable)
    except SettingsError as exc:
        raise SettingsError(
            f"{exc.message} (The tests read {variable} only to be sure they never use the "
            "app's database.)"
        ) from None
    return AppDatabase(url=url, source=variable)


def _explicit_test_url(raw: str, pattern: NamePattern) -> URL:
    url = parse_database_url(raw, TEST_DATABASE_URL)
    renaming = sorted(k for k in url.query if k.lower() in RENAMING_QUERY_KEYS)
    if renaming:
        raise SettingsError(
            f"{TEST_DATABASE_URL} has the query parameter {renaming[0]!r}, which would connect "
            "to another database than the one its path names; name the test database only "
            f"in the path (postgresql://user@host:5432/{pattern.render('name')})."
        )
    name = url.database or ""
    if not is_test_database_name(name) or pattern.base_of(name) is None:
        raise SettingsError(
            f"{TEST_DATABASE_URL} names database {name!r}, which is not a test database: the "
            "tests create, empty and drop it, so its name must follow the test name pattern "
            f"{pattern.pattern!r} (lowercase letters, digits, underscores; for example "
            f"{pattern.render(_suggest(name))})."
        )
    return url


def _derived_test_url(app: AppDatabase | None, pattern: NamePattern, base_ini: str) -> URL:
    """The serial test database's URL: the app's server, the base name through the pattern."""
    server = DEFAULT_SERVER
    if app is not None:
        server = app.server_url or app.url
        renaming = sorted(k for k in server.query if k.lower() in RENAMING_QUERY_KEYS)
        if renaming:
            raise SettingsError(
                f"the app's database URL ({app.source}) has the query parameter "
                f"{renaming[0]!r}, so the tests cannot derive a test database on its server "
                f"from it; set {TEST_DATABASE_URL} (e.g. postgresql://user@host:5432/"
                f"{pattern.render('name')})."
            )
    base = base_ini.strip() or (server.database if app is not None else "") or ""
    if not base:
        raise SettingsError(
            "no base name for the test databases: set ini pgdb_base_name (e.g. your app's "
            f"name), or {TEST_DATABASE_URL}, or bind the app's database (see the README of "
            "pytest-flask-pgdb, 'Binding')."
        )
    if not re.fullmatch(r"[a-z0-9_]+", base):
        source = "pgdb_base_name" if base_ini.strip() else f"the app's database ({_source(app)})"
        raise SettingsError(
            f"the base name {base[:60]!r} (from {source}) cannot name test databases: use "
            f"lowercase letters, digits and underscores (for example {_suggest(base)!r}), or "
            f"set ini pgdb_base_name or {TEST_DATABASE_URL}."
        )
    return server.set(database=pattern.render(base))


def _source(app: AppDatabase | None) -> str:
    return app.source if app is not None else "none"


def _suggest(name: str) -> str:
    stem = re.sub(r"[^a-z0-9_]", "_", name.lower()).strip("_") or "app"
    stem = re.sub(r"_test(_gw[0-9]+)?$", "", stem) or "app"
    return stem[:40]


def _project(raw: str, base: str | None) -> str:
    project = raw.strip() or base or ""
    if not PROJECT.match(project):
        raise SettingsError(
            f"pgdb_project={raw[:40]!r} must be 1-63 letters, digits, '_', '.' or '-' "
            "(the project's name in every test database's mark)."
        )
    return project


def _server_mode(environ: Mapping[str, str]) -> str:
    raw = environ.get(SERVER_SETTING, "")
    mode = raw.strip().lower() or "auto"
    if mode not in SERVER_MODES:
        raise SettingsError(
            f"{SERVER_SETTING}={raw.strip()[:40]!r} is not one of {', '.join(SERVER_MODES)}; "
            "unset it for the default (auto: the configured server, else a private cluster)."
        )
    return mode


def _cleanup(environ: Mapping[str, str], option: str | None, ini: str) -> str:
    """``--pgdb-cleanup``, else ``TEST_DATABASE_CLEANUP``, else ini ``pgdb_cleanup``."""
    for source, value in (
        ("--pgdb-cleanup", (option or "").strip()),
        (CLEANUP_SETTING, environ.get(CLEANUP_SETTING, "").strip()),
        ("ini pgdb_cleanup", ini.strip()),
    ):
        if value:
            if value not in CLEANUP_STRATEGIES:
                raise SettingsError(
                    f"{source}={value[:40]!r}: the cleanup strategy must be one of "
                    f"{CLEANUP_STRATEGIES}."
                )
            return value
    return DEFAULT_CLEANUP_STRATEGY


def _lock_wait(environ: Mapping[str, str]) -> float:
    raw = environ.get(LOCK_WAIT_SETTING, "").strip()
    if not raw:
        return DEFAULT_LOCK_WAIT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= MAX_LOCK_WAIT_SECONDS:
        raise SettingsError(
            f"{LOCK_WAIT_SETTING} must be a number of seconds from 0 to "
            f"{MAX_LOCK_WAIT_SECONDS:g}, got {raw[:40]!r}."
        )
    return value


def _namespace(environ: Mapping[str, str], option: str | None) -> str:
    source, raw = (
        ("--pgdb-namespace", option)
        if option is not None
        else (NAMESPACE_SETTING, environ.get(NAMESPACE_SETTING, ""))
    )
    value = raw.strip()
    if value and not NAMESPACE.match(value):
        raise SettingsError(
            f"{source}={raw[:40]!r}: a namespace is 1 to 16 lowercase letters and digits "
            "(e.g. a CI job's shard number); it becomes part of every test database name."
        )
    return value


def _bindir(environ: Mapping[str, str]) -> Path | None:
    raw = environ.get(BINDIR_SETTING, "").strip()
    if not raw:
        return None
    if "\x00" in raw or not Path(raw).is_absolute():
        raise SettingsError(
            f"{BINDIR_SETTING} must be an absolute directory holding initdb, pg_ctl and "
            f"postgres, got {raw[:80]!r}."
        )
    return Path(raw)


def _check_names(settings: TestSettings) -> None:
    name = settings.test_url.database or ""
    names = settings.names
    source = TEST_DATABASE_URL if settings.explicit_test_url else "the base name"
    if not is_test_database_name(name):
        raise SettingsError(
            f"the test database name {name!r} (from {source}) is not usable: test databases "
            "are named <name>_test, in lowercase letters, digits and underscores, at most "
            f"{MAX_NAME_BYTES} bytes. Set pgdb_base_name or {TEST_DATABASE_URL} accordingly."
        )
    base = settings.base_name
    if settings.workers:
        longest = names.render(base, worker=f"gw{settings.workers - 1}")
        if len(longest.encode()) > MAX_NAME_BYTES:
            excess = len(longest.encode()) - MAX_NAME_BYTES
            raise SettingsError(
                f"with -n {settings.workers} the test database names reach {longest!r} "
                f"({len(longest.encode())} bytes); PostgreSQL names are at most "
                f"{MAX_NAME_BYTES}. Shorten the name (from {source}) by {excess} or more "
                "characters, or run with fewer workers."
            )
    if settings.app_database and names.regex(base).match(settings.app_database):
        other = names.render(f"{base}_suite")
        raise SettingsError(
            f"the tests would use test databases named {name!r} (and others of the pattern "
            f"{settings.name_pattern!r}), but {settings.app_database!r} is the app's own "
            f"database ({settings.app_database_source}). The tests never use the app's "
            f"database: point the app at your development database, or set "
            f"{TEST_DATABASE_URL} to another name (for example .../{other})."
        )
