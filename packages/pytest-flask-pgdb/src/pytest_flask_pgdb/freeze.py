"""After collection, what the imports made is frozen out of the garbage collector.

A test process imports Flask, SQLAlchemy, the app, its factories: hundreds of thousands
of objects that live as long as the process. Every full collection walks them again:
pytest collects twice as it ends, and Python's shutdown walks and tears down every
cycle among them (for this project's imports, ~0.3 s of a ~1 s one-test run; ``nox -s
bench``). ``gc.freeze()`` moves them to the permanent generation, which collections
skip and the process's exit simply releases. What tests create is collected (and its
unraisable exceptions reported) as before.

ini ``pgdb_gc_freeze = false`` turns it off.
"""

from __future__ import annotations

import gc

import pytest

INI = "pgdb_gc_freeze"
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def enabled(raw: str) -> bool:
    """The ini value, as pytest reads booleans; anything else says so."""
    value = raw.strip().lower()
    if value not in _TRUE | _FALSE:
        raise pytest.UsageError(
            f"ini setting {INI}={raw[:40]!r}: expected true or false (default true)"
        )
    return value in _TRUE


def freeze_imports(on: bool) -> None:
    """Freeze every object tracked so far (called once collection has imported all)."""
    if on:
        gc.freeze()
