"""The database layer: the Flask-SQLAlchemy ``db``, Flask-Migrate, start-up check, health."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

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
