"""Arguments after ``nox -s <session> --``: which select tests, which are pytest options.

A path or node id (``tests/x.py::test_y``) replaces the session's own paths, so
``nox -s integration -- tests/x.py::test_y`` runs that one test; everything else is
an option and is added to the session's defaults (later options win: ``-n 4`` after
the session's ``-n auto``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

# pytest options whose value is the next argument (``-k config``): that value is an
# option's, never a selection, even when a file of that name exists.
OPTIONS_WITH_A_VALUE = frozenset(
    {
        "-k", "-m", "-p", "-n", "-c", "-o", "-W", "-r",
        "--tb", "--maxfail", "--durations", "--durations-min", "--deselect", "--ignore",
        "--ignore-glob", "--rootdir", "--basetemp", "--confcutdir", "--import-mode",
        "--capture", "--color", "--log-level", "--junitxml", "--junit-xml",
        "--dist", "--maxprocesses", "--numprocesses", "--randomly-seed",
        "--pgdb-cleanup", "--pgdb-column-order", "--pgdb-namespace",
        "--splits", "--group", "--splitting-algorithm", "--durations-path",
    }
)  # fmt: skip


def split_selection(posargs: Sequence[str], root: Path) -> tuple[list[str], list[str]]:
    """``(selection, options)``: the paths and node ids among ``posargs``, and the rest."""
    selection: list[str] = []
    options: list[str] = []
    value_expected = False
    for arg in posargs:
        if value_expected:
            options.append(arg)
            value_expected = False
        elif arg.startswith("-"):
            options.append(arg)
            value_expected = arg in OPTIONS_WITH_A_VALUE
        elif "::" in arg or (root / arg).exists():
            selection.append(arg)
        else:
            options.append(arg)
    return selection, options


def pytest_arguments(
    posargs: Sequence[str], paths: Sequence[str], defaults: Sequence[str], root: Path
) -> list[str]:
    """The session's pytest command line: the selection (else its paths), then its
    defaults, then the options given after ``--``."""
    selection, options = split_selection(posargs, root)
    return [*(selection or paths), *defaults, *options]
