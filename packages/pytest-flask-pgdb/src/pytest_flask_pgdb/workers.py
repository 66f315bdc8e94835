"""How many xdist workers ``-n auto`` starts: only as many as the selected tests pay for.

Every worker is a Python process that imports the app and readies a database before
its first test: on a small machine, two workers for a few dozen tests are slower than
one process. xdist asks this before any test is collected, so the tests are counted
from the command line: a node id is one test, a file its ``def test…`` functions (not
parametrized cases), a directory its test files. One worker per ``pgdb_tests_per_worker``
of them, at most one per CPU; fewer than two run serially (``-n 0``).

``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides when set, and ``-n logical`` or a number
are left alone.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from pytest_flask_pgdb.errors import SettingsError

DEFAULT_TESTS_PER_WORKER = 50  # nox -s bench: on 2 cores, -n 2 breaks even near 60
_TEST_FUNCTION = re.compile(rb"^[ \t]*(?:async[ \t]+)?def[ \t]+test", re.M)


def count_tests(args: Iterable[str], base: Path) -> int:
    """The test functions the arguments select (node ids count one each)."""
    total = 0
    for arg in args:
        if "::" in arg:
            total += 1
            continue
        path = base / arg
        files = sorted(path.rglob("test_*.py")) + sorted(path.rglob("*_test.py"))
        for file in [path] if path.is_file() else files:
            try:
                total += len(_TEST_FUNCTION.findall(file.read_bytes()))
            except OSError:
                continue  # pytest itself says what is wrong with the path
    return total


def parse_tests_per_worker(value: str) -> int:
    """The ini setting ``pgdb_tests_per_worker``, checked."""
    value = value.strip()
    if not value.isdigit() or int(value) < 1:
        raise SettingsError(
            f"ini setting pgdb_tests_per_worker must be a whole number of at least 1, got "
            f"{value!r}: how many selected test functions pay for one xdist worker"
        )
    return int(value)


def auto_workers(
    tests: int, tests_per_worker: int = DEFAULT_TESTS_PER_WORKER, cpus: int | None = None
) -> int:
    """Workers for ``tests`` selected tests: 0 (serial) unless two or more pay."""
    cpus = cpus if cpus is not None else len(os.sched_getaffinity(0))
    workers = min(cpus, tests // max(tests_per_worker, 1))
    return workers if workers >= 2 else 0
