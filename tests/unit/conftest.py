"""Unit tests: no database at all. Connection attempts fail at once (see blocker)."""

from collections.abc import Iterator

import pytest

from claude_headspace.config import CONFIG_ENVIRONMENT
from pytest_flask_pgdb.blocker import block_database_access
from pytest_flask_pgdb.settings import TEST_ENVIRONMENT


@pytest.fixture(autouse=True)
def _block_database() -> Iterator[None]:
    with block_database_access():
        yield


@pytest.fixture(autouse=True)
def _isolated_config(monkeypatch, tmp_path) -> None:
    """No developer setting leaks in: no config.yaml in cwd, no DATABASE_* variables."""
    for name in (*CONFIG_ENVIRONMENT, *TEST_ENVIRONMENT):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
