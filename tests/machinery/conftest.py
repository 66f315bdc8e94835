"""The test machinery's own tests: its guard, lifecycle and reset, on a real server.

The same wiring as tests/integration (a database per xdist worker, emptied after each
test); what is tested here is pytest_flask_pgdb itself, not the app.
"""

import pytest


@pytest.fixture(autouse=True)
def _empty_database_for_each_test(pgdb_clean):
    """Each test runs in an app context and leaves every table empty, ids from 1."""
