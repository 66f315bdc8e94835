"""Unit tests: no database at all. Connection attempts fail at once (see blocker)."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from claude_headspace.config import CONFIG_ENVIRONMENT
from pytest_flask_pgdb.blocker import block_database_access
from pytest_flask_pgdb.settings import TEST_ENVIRONMENT


@pytest.fixture(autouse=True)
def _block_database() -> Iterator[None]:
    with block_database_access():
        yield


@pytest.fixture(scope="session")
def _empty_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cwd")


@pytest.fixture(autouse=True)
def _isolated_config(monkeypatch: pytest.MonkeyPatch, _empty_directory: Path) -> Iterator[None]:
    """No developer setting leaks in: no config.yaml in cwd, no DATABASE_* variables.

    One empty directory for all tests (a tmp_path each costs ~1 ms): what a test
    leaves in it is removed after the test.
    """
    for name in (*CONFIG_ENVIRONMENT, *TEST_ENVIRONMENT):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(_empty_directory)
    yield
    for path in _empty_directory.iterdir():
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
