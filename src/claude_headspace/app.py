"""The application factory."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask

from .cli import register_commands
from .config import get_database_url, load_config
from .database import db, engine_options, migrate, verify_database_connection
from .routes.health import health_bp


def migrations_directory() -> Path:
    """The Flask-Migrate directory: the checkout's ``migrations/``, else ``./migrations``."""
    checkout = Path(__file__).resolve().parents[2] / "migrations"
    return checkout if (checkout / "env.py").is_file() else Path("migrations")


def create_app(
    config_path: str | os.PathLike[str] | None = None,
    *,
    database_url: str | None = None,
    testing: bool = False,
) -> Flask:
    """Build the application.

    ``database_url`` replaces the configured database (the test machinery passes the
    test database here); otherwise ``DATABASE_URL`` or the config fields are used. The
    app starts even when PostgreSQL is down: the failure is logged and ``/health``
    reports ``degraded``.
    """
    config = load_config(config_path)
    _configure_logging()
    app = Flask(__name__)
    app.config.update(
        TESTING=testing,
        HEADSPACE=config,
        SQLALCHEMY_DATABASE_URI=database_url or get_database_url(config),
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(config["database"]),
        SQLALCHEMY_TRACK_MODIFICATIONS=False,
    )
    from . import models  # noqa: F401  -- registers the tables on db.metadata

    db.init_app(app)
    migrate.init_app(app, db, directory=str(migrations_directory()), compare_type=True)
    app.register_blueprint(health_bp)
    register_commands(app)
    verify_database_connection(app)
    return app


def _configure_logging() -> None:
    """Show our INFO lines (start-up check) unless the host already set up logging."""
    package_logger = logging.getLogger("claude_headspace")
    if package_logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.INFO)
