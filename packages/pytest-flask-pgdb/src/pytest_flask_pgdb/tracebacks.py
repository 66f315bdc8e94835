"""Short failure reports for a test whose database connection the server ended.

When the server goes away (shut down, restarted), every test using the database fails
inside SQLAlchemy's pool and psycopg2: forty frames of library code, the same for each
test, in front of the one line that matters. Such a failure is reported as one line:
the innermost line of the project's own code, and the error. The run's stop message
then gives the cause.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

# Where installed distributions live: SQLAlchemy, psycopg2, Flask and pytest itself.
_LIBRARIES = tuple(
    str(Path(sysconfig.get_paths()[key])) for key in ("purelib", "platlib", "stdlib")
)


def short_repr_if_server_gone(excinfo: pytest.ExceptionInfo[BaseException]) -> str | None:
    """``path:line: error`` if ``excinfo`` is a lost database connection; else None
    (the report stays as pytest made it)."""
    if not type(excinfo.value).__module__.startswith("sqlalchemy"):
        return None  # cheap test first: most failures are not database errors
    from pytest_flask_pgdb.databases.connections import describe_error, is_server_gone

    if not is_server_gone(excinfo.value):
        return None
    own = [
        entry
        for entry in excinfo.traceback
        # (generated code, e.g. SQLAlchemy's wrappers, has a name for a path, not a Path)
        if isinstance(entry.path, Path) and not str(entry.path).startswith(_LIBRARIES)
    ]
    where = f"{own[-1].path}:{own[-1].lineno + 1}: " if own else ""
    return f"{where}{describe_error(excinfo.value)} (the database connection was lost)"
