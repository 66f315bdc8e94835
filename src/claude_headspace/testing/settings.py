"""Every setting of the test machinery, read and checked once: :class:`TestSettings`.

The pytest plugin calls :func:`read_settings` once per run (in the xdist controller, or
the one process of a serial run) and hands the result to xdist workers; nothing below
the plugin reads the environment. A bad value is one :class:`SettingsError` naming the
setting, the value (never a password) and what to do.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from ..config import (
    DEFAULTS,
    ENV_OVERRIDES,
    ConfigError,
    build_database_url,
    load_config,
    mask_url,
    parse_database_url,
)
from .guard import MAX_NAME_BYTES, is_test_database_name

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
TEST_SUFFIX = "_test"
# libpq parameters that would connect to another database than the URL's path names.
RENAMING_QUERY_KEYS = ("dbname", "database", "service", "servicefile")
# Every variable a developer may have exported that changes which database is used.
CONFIG_ENVIRONMENT: tuple[str, ...] = ("DATABASE_URL", *ENV_OVERRIDES, TEST_DATABASE_URL)


class SettingsError(ConfigError):
    """A test setting has a value the machinery cannot use (one line, no secrets)."""


@dataclass(frozen=True)
class TestSettings:
    """What the machinery needs to know, validated.

    ``test_url`` is the serial run's test database (workers append ``_gw<N>``);
    ``app_database`` is the name of the app's own database, which the tests refuse to use.
    """

    __test__ = False

    test_url: URL
    explicit_test_url: bool
    app_database: str
    app_database_source: str
    server_mode: str = "auto"
    cleanup: str = DEFAULT_CLEANUP_STRATEGY
    lock_wait: float = DEFAULT_LOCK_WAIT_SECONDS
    pg_bindir: Path | None = None
    workers: int = 0

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
    cleanup_option: str | None = None,
    cleanup_ini: str = "",
    workers: int = 0,
    config_path: str | None = None,
) -> TestSettings:
    """Read every test setting from ``environ``, ``config.yaml`` and pytest's options."""
    try:
        app_config = load_config(config_path, environ)
    except ConfigError as exc:
        raise SettingsError(exc.message) from None
    explicit = bool(environ.get(TEST_DATABASE_URL, "").strip())
    test_url = _test_url(environ, app_config)
    app_database, app_source = _app_database(environ, app_config)
    settings = TestSettings(
        test_url=test_url,
        explicit_test_url=explicit,
        app_database=app_database,
        app_database_source=app_source,
        server_mode=_server_mode(environ),
        cleanup=_cleanup(environ, cleanup_option, cleanup_ini),
        lock_wait=_lock_wait(environ),
        pg_bindir=_bindir(environ),
        workers=workers,
    )
    _check_names(settings)
    return settings


def _test_url(environ: Mapping[str, str], app_config: Mapping[str, Any]) -> URL:
    raw = environ.get(TEST_DATABASE_URL, "").strip()
    if not raw:
        database = app_config["database"]
        return build_database_url(database, name=f"{database['name']}{TEST_SUFFIX}")
    try:
        url = parse_database_url(raw, TEST_DATABASE_URL)
    except ConfigError as exc:
        raise SettingsError(exc.message) from None
    renaming = sorted(k for k in url.query if k.lower() in RENAMING_QUERY_KEYS)
    if renaming:
        raise SettingsError(
            f"{TEST_DATABASE_URL} has the query parameter {renaming[0]!r}, which would connect "
            "to another database than the one its path names; name the test database only "
            "in the path (postgresql://user@host:5432/<name>_test)."
        )
    name = url.database or ""
    if not name.endswith(TEST_SUFFIX) or not is_test_database_name(name):
        raise SettingsError(
            f"{TEST_DATABASE_URL} names database {name!r}, which is not a test database: the "
            "tests create, empty and drop it, so its name must end in _test (lowercase "
            f"letters, digits, underscores; for example {_suggest(name)})."
        )
    return url


def _suggest(name: str) -> str:
    stem = re.sub(r"[^a-z0-9_]", "_", name.lower()).strip("_") or "claude_headspace"
    return f"{stem[:40]}_test"


def _app_database(environ: Mapping[str, str], app_config: Mapping[str, Any]) -> tuple[str, str]:
    """The name of the database the app itself uses, and which setting says so."""
    raw = environ.get("DATABASE_URL", "").strip()
    if raw:
        try:
            url = parse_database_url(raw, "DATABASE_URL")
        except ConfigError as exc:
            raise SettingsError(
                f"{exc.message} (The tests read DATABASE_URL only to be sure they never use "
                "the app's database.)"
            ) from None
        dbname = url.query.get("dbname")
        return (dbname if isinstance(dbname, str) else url.database or ""), "DATABASE_URL"
    name = app_config["database"]["name"]
    if environ.get("DATABASE_NAME") is not None:
        return name, "DATABASE_NAME"
    if name != DEFAULTS["database"]["name"]:
        return name, "database.name in config.yaml"
    return name, "the default database.name"


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
    """``--db-cleanup``, else ``TEST_DATABASE_CLEANUP``, else ini ``db_cleanup``."""
    for source, value in (
        ("--db-cleanup", (option or "").strip()),
        (CLEANUP_SETTING, environ.get(CLEANUP_SETTING, "").strip()),
        ("ini db_cleanup", ini.strip()),
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
    source = TEST_DATABASE_URL if settings.explicit_test_url else "database.name + _test"
    if not is_test_database_name(name):
        raise SettingsError(
            f"the test database name {name!r} (from {source}) is not usable: test databases "
            "are named <name>_test, in lowercase letters, digits and underscores, at most "
            f"{MAX_NAME_BYTES} bytes. Set DATABASE_NAME or {TEST_DATABASE_URL} accordingly."
        )
    if settings.workers:
        longest = f"{name}_gw{settings.workers - 1}"
        if len(longest.encode()) > MAX_NAME_BYTES:
            excess = len(longest.encode()) - MAX_NAME_BYTES
            raise SettingsError(
                f"with -n {settings.workers} the test database names reach {longest!r} "
                f"({len(longest.encode())} bytes); PostgreSQL names are at most "
                f"{MAX_NAME_BYTES}. Shorten the name (from {source}) by {excess} or more "
                "characters, or run with fewer workers."
            )
    stem = name[: -len(TEST_SUFFIX)]
    family = re.compile(rf"^{re.escape(stem)}(_[a-z0-9_]+)?_test(_gw[0-9]+)?$")
    if family.match(settings.app_database):
        raise SettingsError(
            f"the tests would use test databases named {name!r} (and _gw<N>, _<label>_test), "
            f"but {settings.app_database!r} is the app's own database "
            f"({settings.app_database_source}). The tests never use the app's database: point "
            f"the app at your development database, or set {TEST_DATABASE_URL} to another "
            f"name (for example .../{stem}_suite_test)."
        )
