"""The app the binding builds (``pgdb_app_factory``): the one check that it has a database."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # Flask is the extra 'flask': imported only where an app is built
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy


def sqlalchemy_of(app: Flask) -> SQLAlchemy:
    """The app's Flask-SQLAlchemy extension: its session and engine are the tests'."""
    extension = app.extensions.get("sqlalchemy")
    if extension is None:
        pytest.fail(
            "the app from the pgdb_app_factory fixture has no Flask-SQLAlchemy extension: "
            "call db.init_app(app) in the factory",
            pytrace=False,
        )
    return extension
