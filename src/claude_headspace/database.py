"""The database layer: the Flask-SQLAlchemy ``db``, Flask-Migrate, start-up check, health."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from .config import mask_url

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5
POOL_RECYCLE_SECONDS = 3600

# One naming convention for models and migrations, so constraint names match on both
# sides and Alembic can drop what it created.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()


def engine_options(database: dict[str, Any]) -> dict[str, Any]:
    """SQLAlchemy engine options for a ``database`` config section."""
    return {
        "pool_size": database["pool_size"],
        "pool_timeout": database["pool_timeout"],
        "pool_recycle": POOL_RECYCLE_SECONDS,
        "pool_pre_ping": True,
        "connect_args": {"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    }


ADMIN_APPLICATION_NAME = "claude_headspace.admin"
# Server-side limits an administrator may set on the server, a database or a role. An
# administrative session is idle for long stretches (it holds a lock for a whole test
# run) or runs one long statement (CREATE DATABASE): these would end it.
ADMIN_TIMEOUTS_OFF = (
    "SELECT set_config(name, '0', false) FROM pg_settings WHERE name IN "
    "('idle_session_timeout', 'idle_in_transaction_session_timeout', "
    "'statement_timeout', 'lock_timeout')"
)


def admin_engine(url: URL | str, application_name: str = ADMIN_APPLICATION_NAME) -> Engine:
    """An engine for administrative work: no pool, autocommit, bounded connect.

    Every connection switches off the server-side session timeouts (see above) and
    uses TCP keepalives, so a connection held for hours stays ours.
    """
    engine = create_engine(
        url,
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "application_name": application_name,
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        },
    )

    @event.listens_for(engine, "connect")
    def _timeouts_off(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(ADMIN_TIMEOUTS_OFF)
        dbapi_connection.commit()

    return engine


@contextmanager
def admin_connection(
    url: URL | str, application_name: str = ADMIN_APPLICATION_NAME
) -> Iterator[Connection]:
    """One administrative connection to ``url``, closed (and its engine disposed) after."""
    engine = admin_engine(url, application_name)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def describe_error(exc: BaseException) -> str:
    """A one-line, password-free description of a database error."""
    original = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    message = lines[0] if lines else type(original).__name__
    return f"{type(original).__name__}: {message}"


def verify_database_connection(app: Flask) -> bool:
    """Try one connection at start-up and log the outcome; never raise."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with app.app_context(), db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        logger.error(
            "Database connection failed: host=%s port=%s database=%s error=%s",
            url.host,
            url.port,
            url.database,
            describe_error(exc),
        )
        return False
    logger.info("Database connected to %s", mask_url(url))
    return True


def check_database_health() -> tuple[bool, str | None]:
    """``(True, None)`` when ``SELECT 1`` succeeds, else ``(False, error)``."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        return False, describe_error(exc)
    return True, None
