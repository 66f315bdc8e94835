"""Wiring of the sample suite, plus pause points the reliability tests kill at.

SAMPLE_PAUSE=setup|test|teardown makes the run write SAMPLE_MARKER and wait there
(until SAMPLE_RESUME exists, or 120 s): after its test database exists, inside a
test, or just before the database is dropped.
"""

import os
import time
from pathlib import Path

import pytest

# The app plugs in exactly as in the project's own suites (the harness puts the
# checkout on PYTHONPATH).
from tests.conftest import (  # noqa: F401
    app,
    pgdb_app_factory,
    pgdb_metadata,
    pgdb_migrations_directory,
    pytest_pgdb_app_database,
)


def pause(point: str) -> None:
    if os.environ.get("SAMPLE_PAUSE") != point:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    Path(f"{os.environ['SAMPLE_MARKER']}.{worker}").write_text(point)
    resume = Path(os.environ.get("SAMPLE_RESUME", "/nonexistent"))
    deadline = time.monotonic() + 120
    while not resume.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture(scope="session", autouse=True)
def _pause_points(pgdb_database):
    pause("setup")
    yield
    pause("teardown")


@pytest.fixture(autouse=True)
def _empty_database_for_each_test(pgdb_clean):
    """As in tests/integration: every test starts empty, ids from 1."""
