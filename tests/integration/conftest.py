"""Integration tests: a real PostgreSQL database per xdist worker, emptied after each test.

The machinery lives in pytest_flask_pgdb (registered in tests/conftest.py).
"""

import pytest


@pytest.fixture(autouse=True)
def _empty_database_for_each_test(pgdb_clean):
    """Each test runs in an app context and leaves every table empty, ids from 1."""
