"""Test database names and URLs: the one function that builds them.

``url_for_test_database(base, worker=..., label=...)``, where ``base`` is
``TestSettings.test_url`` (``TEST_DATABASE_URL``, else the app's settings with ``_test``
appended to the name, never ``DATABASE_URL``):

* a label names a purpose-specific sibling: ``claude_headspace_migrations_test``;
* under pytest-xdist the worker id is appended: ``claude_headspace_test_gw0``.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import URL

from .guard import require_test_name
from .settings import TEST_SUFFIX

WORKER_ID = re.compile(r"^gw[0-9]+$")


def worker_id(raw: str | None) -> str | None:
    """The pytest-xdist worker id (``gw0`` ...) or None (serial run, or not an id)."""
    worker = (raw or "").strip()
    return worker if WORKER_ID.match(worker) else None


def url_for_test_database(base: URL, *, worker: str | None = None, label: str | None = None) -> URL:
    """The URL of a test database: ``<stem>[_<label>]_test[_<worker>]``."""
    database = base.database or ""
    stem = database[: -len(TEST_SUFFIX)] if database.endswith(TEST_SUFFIX) else database
    name = f"{stem}_{label}{TEST_SUFFIX}" if label else f"{stem}{TEST_SUFFIX}"
    if worker:
        name = f"{name}_{worker}"
    return base.set(database=require_test_name(name, "name"))
