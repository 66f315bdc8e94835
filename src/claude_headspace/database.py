"""The database layer: the Flask-SQLAlchemy ``db``, Flask-Migrate, start-up check, health."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase

from .config import mask_url
from .connections import CONNECT_TIMEOUT_SECONDS, describe_error

logger = logging.getLogger(__name__)

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


class Base(DeclarativeBase):
    """The declarative base the models build on (Flask-SQLAlchemy 3.1's typed setup)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()

# ``db.Model`` is Base with Flask-SQLAlchemy's additions (bind keys, ``query``), made at
# run time; type checkers cannot take a base class from an attribute (python/mypy#8603),
# so they are shown Base, which is what the models' columns and relationships need.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


def engine_options(database: dict[str, Any]) -> dict[str, Any]:
    """SQLAlchemy engine options for a ``database`` config section."""
    return {
        "pool_size": database["pool_size"],
        "pool_timeout": database["pool_timeout"],
        "pool_recycle": POOL_RECYCLE_SECONDS,
        "pool_pre_ping": True,
        "connect_args": {"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    }


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
