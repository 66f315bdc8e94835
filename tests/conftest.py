"""Where the app plugs into the test machinery: the one place that says "this is our app".

``claude_headspace.testing`` knows the app only through these three fixtures (see
docs/testing.md, "Where the app plugs in"); everything else it builds itself.
"""

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import MetaData

pytest_plugins = ("claude_headspace.testing.plugin",)


@pytest.fixture(scope="session")
def database_metadata() -> MetaData:
    """Every table of the app: each test database's schema is built from this."""
    import claude_headspace.models  # noqa: F401  -- registers the tables on db.metadata
    from claude_headspace.database import db

    return db.metadata


@pytest.fixture(scope="session")
def app_factory() -> Callable[..., Flask]:
    """The app, built for a test database: ``app_factory(database_url=...)``."""
    from claude_headspace import create_app

    return partial(create_app, testing=True)


@pytest.fixture(scope="session")
def migrations_directory() -> Path:
    """The app's Flask-Migrate history."""
    from claude_headspace.app import migrations_directory

    return migrations_directory()
