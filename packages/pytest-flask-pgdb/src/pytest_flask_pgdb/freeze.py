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

INI = "pgdb_gc_freeze"


def freeze_imports(enabled: bool) -> None:
    """Freeze every object tracked so far (called once collection has imported all)."""
    if enabled:
        gc.freeze()
