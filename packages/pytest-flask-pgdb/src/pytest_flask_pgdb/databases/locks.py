"""Claims: session-level advisory locks on database names, in a namespace of our own.

A run holds its database's name exclusively for the whole run; a run that may clone a
schema template holds the template's name shared, so that nobody drops or rebuilds it
meanwhile (both need it exclusively). PostgreSQL releases them when the session ends,
also when its process is killed.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

LOCK_NAMESPACE = 0x48535444  # "HSTD": keeps our advisory locks apart from anyone else's


def try_lock(connection: Connection, name: str, *, shared: bool = False) -> bool:
    """Take the claim on ``name`` for ``connection``'s session, if nobody's conflicts."""
    function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
    return bool(
        connection.scalar(
            text(f"SELECT {function}(:ns, hashtext(:name))"),
            {"ns": LOCK_NAMESPACE, "name": name},
        )
    )


def unlock(connection: Connection, name: str, *, shared: bool = False) -> None:
    """Release the claim; on a session the server ended there is none to release (and
    the error that ended it is the one to report, not a second one from here)."""
    if connection.invalidated:
        return
    function = "pg_advisory_unlock_shared" if shared else "pg_advisory_unlock"
    connection.execute(
        text(f"SELECT {function}(:ns, hashtext(:name))"),
        {"ns": LOCK_NAMESPACE, "name": name},
    )
