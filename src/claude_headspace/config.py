"""Configuration: defaults, then ``config.yaml``, then environment overrides.

Every bad value raises :class:`ConfigError` with one message that names the
setting, the offending value, where it came from and what to do. Passwords never
appear in those messages: URLs are shown through :func:`mask_url`.
"""

from __future__ import annotations

import copy
import os
import re
import reprlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import yaml
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_CONFIG_PATH = "config.yaml"
MAX_CONFIG_BYTES = 64 * 1024  # a real config.yaml is a few hundred bytes
# libyaml's safe loader where PyYAML was built with it (its wheels are): ~10x faster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_NESTING = 32  # a real config.yaml nests 2 deep; PyYAML's loader recurses per level

DEFAULTS: dict[str, dict[str, Any]] = {
    "server": {"host": "127.0.0.1", "port": 5055, "debug": False},
    "database": {
        "host": "localhost",
        "port": 5432,
        "name": "claude_headspace",
        "user": "postgres",
        "password": "",
        "pool_size": 10,
        "pool_timeout": 30,
    },
}

# Environment variable -> (section, key). DATABASE_URL is separate: it replaces the
# whole database address and is read only by get_database_url().
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "DATABASE_HOST": ("database", "host"),
    "DATABASE_PORT": ("database", "port"),
    "DATABASE_NAME": ("database", "name"),
    "DATABASE_USER": ("database", "user"),
    "DATABASE_PASSWORD": ("database", "password"),
    "DATABASE_POOL_SIZE": ("database", "pool_size"),
    "DATABASE_POOL_TIMEOUT": ("database", "pool_timeout"),
}

# Every variable a developer may have exported that changes which database the app uses.
CONFIG_ENVIRONMENT: tuple[str, ...] = ("DATABASE_URL", *ENV_OVERRIDES)

# Schemes users may write; all of them are served by psycopg2.
POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg2"}
DRIVER = "postgresql+psycopg2"

_SECRET_KEYS = {("database", "password")}
_RANGES = {
    "server.port": (1, 65535),
    "database.port": (1, 65535),
    "database.pool_size": (1, 1000),
    "database.pool_timeout": (1, 3600),
}
_REQUIRED_TEXT = {"server.host", "database.host", "database.name", "database.user"}


class ConfigError(click.ClickException, ValueError):
    """A setting has a value the application cannot use.

    A ClickException so that ``flask --app claude_headspace ...`` prints it as one
    ``Error: ...`` line instead of a traceback.
    """

    exit_code = 2


def load_config(
    config_path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return the merged configuration: defaults <- YAML file <- environment.

    A missing file means "use the defaults"; a file that exists but cannot be
    used is an error. ``environ`` defaults to ``os.environ``.
    """
    path = Path(config_path if config_path is not None else DEFAULT_CONFIG_PATH)
    config = copy.deepcopy(DEFAULTS)
    if path.exists():
        _merge_file(config, _read_yaml(path), source=str(path))
    _apply_env(config, os.environ if environ is None else environ)
    return config


def _nesting_exceeds(source: str, limit: int) -> bool:
    """Does a collection nest deeper than ``limit``? Read from the parser's events, which
    come without recursion, and stopped there: a pathological file costs microseconds."""
    depth = 0
    for event in yaml.parse(source, Loader=_YAML_LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > limit:
                return True
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return False


def _read_yaml(path: Path) -> Mapping[str, Any]:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}).") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB, which no configuration file "
            "of this app needs; is it the right file? Compare it with config.example.yaml."
        )
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8 or compare it with config.example.yaml."
        ) from None
    if "\x00" in source:
        raise ConfigError(f"{path}: contains NUL bytes, so it is not a YAML text file.")
    try:
        if _nesting_exceeds(source, MAX_NESTING):
            raise ConfigError(
                f"{path}: nested too deeply to be a configuration (sections hold settings, "
                "settings hold single values); compare it with config.example.yaml."
            )
        data = yaml.load(source, Loader=_YAML_LOADER)  # a safe loader: C or Python
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise ConfigError(
            f"{path}: invalid YAML{where}: {problem}. Fix the file or compare it with "
            "config.example.yaml."
        ) from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{path}: the top level must be a mapping of sections (server:, database:), "
            f"not a {type(data).__name__}."
        )
    return data


def _merge_file(config: dict[str, Any], data: Mapping[str, Any], source: str) -> None:
    for section, values in data.items():
        if section not in config:
            raise ConfigError(
                f"{source}: unknown section {section!r}; known sections: "
                f"{', '.join(sorted(config))}."
            )
        if values is None:
            continue
        if not isinstance(values, Mapping):
            raise ConfigError(
                f"{source}: section {section!r} must be a mapping of settings, "
                f"not {_show(section, '', values)}."
            )
        for key, value in values.items():
            if key not in config[section]:
                raise ConfigError(
                    f"{source}: unknown setting {section}.{key}; known settings: "
                    f"{', '.join(sorted(config[section]))}."
                )
            config[section][key] = _coerce(section, key, value, source)


def _apply_env(config: dict[str, Any], environ: Mapping[str, str]) -> None:
    for env_name, (section, key) in ENV_OVERRIDES.items():
        raw = environ.get(env_name)
        if raw is not None:
            config[section][key] = _coerce(section, key, raw, f"environment variable {env_name}")


def _coerce(section: str, key: str, value: Any, source: str) -> Any:
    """Turn ``value`` into the type the default of ``section.key`` has."""
    default = DEFAULTS[section][key]
    setting = f"{section}.{key}"
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "1", "yes", "on"}:
            return True
        if isinstance(value, str) and value.strip().lower() in {"false", "0", "no", "off"}:
            return False
        raise ConfigError(
            f"{source}: {setting} must be true or false, got {_show(section, key, value)}."
        )
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ConfigError(
                f"{source}: {setting} must be a whole number, got {_show(section, key, value)}."
            )
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(
                f"{source}: {setting} must be a whole number, got {_show(section, key, value)}."
            ) from None
        low, high = _RANGES[setting]
        if not low <= number <= high:
            raise ConfigError(
                f"{source}: {setting} must be between {low} and {high}, got {number}."
            )
        return number
    if value is None:
        return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # a numeric password or database name written without quotes
    if not isinstance(value, str):
        raise ConfigError(
            f"{source}: {setting} must be a string, got {_show(section, key, value)}."
        )
    if not value.strip() and setting in _REQUIRED_TEXT:
        raise ConfigError(f"{source}: {setting} must not be empty.")
    return value


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 60
_SHORT_REPR.maxlevel = 2


def _show(section: str, key: str, value: Any) -> str:
    if (section, key) in _SECRET_KEYS:
        return "a value (hidden)"
    return _SHORT_REPR.repr(value)  # bounded: a value may be a huge or deeply nested YAML node


def build_database_url(database: Mapping[str, Any], *, name: str | None = None) -> URL:
    """Build the psycopg2 URL for a ``database`` config section.

    ``URL.create`` quotes every part, so passwords with ``@``, ``/`` or ``%`` work. A
    host that is a directory (``/var/run/postgresql``) is a Unix socket directory; it
    goes in the query, the only form of it that survives rendering and parsing again.
    """
    name = name if name is not None else database["name"]
    user, password = database["user"] or None, database["password"] or None
    if str(database["host"]).startswith("/"):
        return URL.create(
            DRIVER,
            username=user,
            password=password,
            database=name,
            query={"host": database["host"], "port": str(database["port"])},
        )
    return URL.create(
        DRIVER,
        username=user,
        password=password,
        host=database["host"],
        port=database["port"],
        database=name,
    )


# The port part of a URL, as SQLAlchemy's parser splits it (user:password@host:port).
_URL_PORT = re.compile(
    r"^[\w+]+://(?:[^:/]*(?::[^@]*)?@)?(?:\[[^/?]+\]|[^/:?]+)?(?::(?P<port>[^/?]*))?"
)
_PORT = re.compile(r"[0-9]{1,5}")


def _check_port(port: str | None, setting: str) -> None:
    """Ports are ASCII digits 1-65535 (``int()`` would also take ' 5432', '+5432', '٥٤٣٢')."""
    if port is None:
        return
    if not _PORT.fullmatch(port) or not 1 <= int(port) <= 65535:
        raise ConfigError(
            f"{setting}: the port must be a number from 1 to 65535, got {_SHORT_REPR.repr(port)}."
        )


def parse_database_url(raw: str, setting: str) -> URL:
    """Parse a user-given URL and pin it to psycopg2, or raise :class:`ConfigError`.

    No message repeats the URL itself: it may hold a password.
    """
    text = raw.strip()
    shape = _URL_PORT.match(text)
    _check_port(shape.group("port") if shape else None, setting)
    try:
        url = make_url(text)
    except (ArgumentError, ValueError, TypeError):
        raise ConfigError(
            f"{setting} is not a valid database URL; expected "
            "postgresql://user:password@host:port/database."
        ) from None
    if url.drivername not in POSTGRES_SCHEMES:
        raise ConfigError(
            f"{setting} uses the unsupported scheme {url.drivername!r} ({mask_url(url)}); "
            "use postgresql://user:password@host:port/database."
        )
    if not url.database:
        raise ConfigError(f"{setting} names no database ({mask_url(url)}); add /<database>.")
    query_port = url.query.get("port")
    _check_port(query_port if isinstance(query_port, str) else None, setting)
    return url.set(drivername=DRIVER)


def get_database_url(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> str:
    """The application's database URL: ``DATABASE_URL`` if set, else the config fields."""
    raw = (os.environ if environ is None else environ).get("DATABASE_URL")
    url = (
        parse_database_url(raw, "DATABASE_URL")
        if raw and raw.strip()
        else build_database_url(config["database"])
    )
    return url.render_as_string(hide_password=False)


def mask_url(url: str | URL) -> str:
    """Render ``url`` for humans: plain ``postgresql://`` scheme, password as ``***``."""
    if isinstance(url, str):
        try:
            url = make_url(url)
        except (ArgumentError, ValueError, TypeError):
            return "<unparseable database URL>"
    if url.drivername in POSTGRES_SCHEMES:
        url = url.set(drivername="postgresql")
    if url.password:
        url = url.set(password="***")
    # hide_password=False so the literal *** placeholder is shown unquoted.
    return url.render_as_string(hide_password=False).replace("%2A%2A%2A", "***")


def address_of(url: URL) -> str:
    """``host:port``, or the socket directory and port: never the user or password."""
    host = url.query.get("host") or url.host or "localhost"
    port = url.query.get("port") or url.port or 5432
    return f"{host}:{port}"


def configured_database(
    environ: Mapping[str, str] | None = None, config_path: str | None = None
) -> tuple[URL, str, URL]:
    """The app's database as configured: ``(url, which setting says so, fields url)``.

    ``url`` is what the app connects to (``DATABASE_URL`` wins); the fields URL is built
    from the ``database`` fields alone (``DATABASE_URL`` never feeds it): the tests
    create their databases there, named after ``database.name``.
    """
    environ = os.environ if environ is None else environ
    config = load_config(config_path, environ)
    fields = build_database_url(config["database"])
    raw = environ.get("DATABASE_URL", "").strip()
    if raw:
        return parse_database_url(raw, "DATABASE_URL"), "DATABASE_URL", fields
    if environ.get("DATABASE_NAME") is not None:
        source = "DATABASE_NAME"
    elif config["database"]["name"] != DEFAULTS["database"]["name"]:
        source = "database.name in config.yaml"
    else:
        source = "the default database.name"
    return fields, source, fields
