"""The fixtures of the schema-parity checks (``checks.py``), provided by the plugin.

Each is session-scoped and named ``pgdb_*``; they build on the binding (``pgdb_metadata``,
``pgdb_migrations``) and on the databases' lifecycle (``pgdb_make_database``,
``pgdb_migrated_database``), so every database they read is a test database of the run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sqlalchemy import MetaData

    from pytest_flask_pgdb.databases.lifecycle import TestDatabase
    from pytest_flask_pgdb.parity.baseline import BaselineInUse
    from pytest_flask_pgdb.parity.compare import Schema
    from pytest_flask_pgdb.settings import TestSettings

WRITE_BASELINE_OPTION = "--pgdb-write-parity-baseline"
BASELINE_INI = "pgdb_parity_baseline"
DEFAULT_BASELINE = "parity-baseline.toml"


@pytest.fixture(scope="session")
def pgdb_pg_dump(
    request: pytest.FixtureRequest,
    pgdb_migrated_database: TestDatabase,
    pgdb_settings: TestSettings,
) -> Path | None:
    """The backstop's ``pg_dump`` (the server's major version), or None if there is none;
    without one, the run's closing lines say the backstop did not run."""
    from pytest_flask_pgdb.parity.compare import matching_pg_dump
    from pytest_flask_pgdb.plugin import run_databases

    found = matching_pg_dump(pgdb_migrated_database.url, pgdb_settings.pg_bindir)
    if found is None:
        run_databases(request.config).notes.append(
            "schema parity: the pg_dump backstop did not run (no pg_dump of the server's "
            "major version here; TEST_DATABASE_PG_BINDIR names where one is)"
        )
    return found


@pytest.fixture(scope="session")
def pgdb_models_database(
    pgdb_make_database: Callable[[str], TestDatabase], pgdb_metadata: MetaData
) -> TestDatabase:
    """An empty test database built by ``pgdb_metadata.create_all``, as tests' are."""
    database = pgdb_make_database("models")
    database.build_schema(pgdb_metadata)
    return database


@pytest.fixture(scope="session")
def pgdb_migrated_schema(pgdb_migrated_database: TestDatabase, pgdb_pg_dump: Path | None) -> Schema:
    """What the migrations build: the schema of ``pgdb_migrated_database``."""
    from pytest_flask_pgdb.parity.compare import read_schema

    return read_schema(pgdb_migrated_database.url, pgdb_pg_dump)


@pytest.fixture(scope="session")
def pgdb_models_schema(pgdb_models_database: TestDatabase, pgdb_pg_dump: Path | None) -> Schema:
    """What the models declare: the schema of ``pgdb_models_database``."""
    from pytest_flask_pgdb.parity.compare import read_schema

    return read_schema(pgdb_models_database.url, pgdb_pg_dump)


@pytest.fixture(scope="session")
def pgdb_parity_baseline(request: pytest.FixtureRequest) -> BaselineInUse:
    """The accepted differences (ini ``pgdb_parity_baseline``, default
    ``parity-baseline.toml`` beside the pytest configuration), and whether this run
    writes them (``--pgdb-write-parity-baseline``)."""
    from pytest_flask_pgdb.parity.baseline import Baseline, BaselineInUse
    from pytest_flask_pgdb.plugin import stop_run_with
    from pytest_flask_pgdb.settings import SettingsError

    config = request.config
    beside = config.inipath.parent if config.inipath else config.rootpath
    path = beside / str(config.getini(BASELINE_INI) or DEFAULT_BASELINE)
    try:
        baseline = Baseline.load(path)
    except SettingsError as exc:
        stop_run_with(request, str(exc))
    return BaselineInUse(baseline, writing=bool(config.getoption(WRITE_BASELINE_OPTION)))
