"""Database URLs as users write them: parsed strictly, shown without passwords.

Every URL a user gives the plugin (``TEST_DATABASE_URL``, the app's database URL) goes
through :func:`parse_database_url`, and every URL a message shows through
:func:`mask_url`.
"""

from __future__ import annotations

import re
import reprlib

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from pytest_flask_pgdb.errors import SettingsError

# Schemes users may write; all of them are served by psycopg2 (SQLAlchemy 2.1 maps a
# bare postgresql:// to psycopg 3, which the plugin does not depend on).
POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg2"}
DRIVER = "postgresql+psycopg2"

# The port part of a URL, as SQLAlchemy's parser splits it (user:password@host:port).
_URL_PORT = re.compile(
    r"^[\w+]+://(?:[^:/]*(?::[^@]*)?@)?(?:\[[^/?]+\]|[^/:?]+)?(?::(?P<port>[^/?]*))?"
)
_PORT = re.compile(r"[0-9]{1,5}")
_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxstring = 40


def _check_port(port: str | None, setting: str) -> None:
    """Ports are ASCII digits 1-65535 (``int()`` would also take ' 5432', '+5432', '٥٤٣٢')."""
    if port is None:
        return
    if not _PORT.fullmatch(port) or not 1 <= int(port) <= 65535:
        raise SettingsError(
            f"{setting}: the port must be a number from 1 to 65535, got {_SHORT_REPR.repr(port)}."
        )


def parse_database_url(raw: str, setting: str) -> URL:
    """Parse a user-given URL and pin it to psycopg2, or raise :class:`SettingsError`.

    No message repeats the URL itself: it may hold a password.
    """
    text = raw.strip()
    shape = _URL_PORT.match(text)
    _check_port(shape.group("port") if shape else None, setting)
    try:
        url = make_url(text)
    except (ArgumentError, ValueError, TypeError):
        raise SettingsError(
            f"{setting} is not a valid database URL; expected "
            "postgresql://user:password@host:port/database."
        ) from None
    if url.drivername not in POSTGRES_SCHEMES:
        raise SettingsError(
            f"{setting} uses the unsupported scheme {url.drivername!r} ({mask_url(url)}); "
            "use postgresql://user:password@host:port/database."
        )
    if not url.database:
        raise SettingsError(f"{setting} names no database ({mask_url(url)}); add /<database>.")
    query_port = url.query.get("port")
    _check_port(query_port if isinstance(query_port, str) else None, setting)
    return url.set(drivername=DRIVER)


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
