"""The hook an app implements in its conftest.py to say which database is its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_flask_pgdb.settings import AppDatabase


@pytest.hookspec(firstresult=True)
def pytest_pgdb_app_database(
    config: pytest.Config, environ: Mapping[str, str]
) -> AppDatabase | None:
    """The app's own database, as the app's configuration gives it (``environ`` included).

    The tests never use it nor any test-like name of its family, and unless
    ``TEST_DATABASE_URL`` is set they create their databases on its server, named after
    it. Raise :class:`pytest_flask_pgdb.SettingsError` for a bad app setting (one line,
    no password). Without an implementation the plugin reads the URL from the variable
    ini ``pgdb_app_url_env`` names (``DATABASE_URL``).
    """
