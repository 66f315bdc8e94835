"""Which database is the app's own, for pytest-flask-pgdb: our app's configuration.

The hook in ``tests/conftest.py`` answers with :func:`app_database`; the unit tests
check the protection it gives through the plugin's settings.
"""

from collections.abc import Mapping

from claude_headspace.config import ConfigError, configured_database
from pytest_flask_pgdb import AppDatabase, SettingsError


def app_database(environ: Mapping[str, str], config_path: str | None = None) -> AppDatabase:
    """DATABASE_URL, else config.yaml and DATABASE_*: what the app connects to."""
    try:
        url, source, fields = configured_database(environ, config_path)
    except ConfigError as exc:
        why = (
            " (The tests read DATABASE_URL only to be sure they never use the app's database.)"
            if exc.message.startswith("DATABASE_URL")
            else ""
        )
        raise SettingsError(exc.message + why) from None
    return AppDatabase(
        url=url,
        source=source,
        server_url=fields,
        server_source="config.yaml or DATABASE_HOST/PORT/USER/PASSWORD",
    )
