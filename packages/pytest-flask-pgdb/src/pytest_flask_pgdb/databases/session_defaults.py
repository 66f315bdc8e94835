"""Connection settings that change how the server treats the tests, and where they come from.

Every connection of the tests starts with what ``PGOPTIONS`` (libpq's environment) and the
role's and databases' defaults (``ALTER ROLE … SET``, ``ALTER DATABASE … SET``) say. A few
of them decide whether the machinery can work at all (a read-only default, a statement
timeout) or whether the tests mean anything (``session_replication_role = replica`` turns
foreign keys off). When one is set, errors and the run's closing line name it: the user
otherwise sees its symptom ("needs CREATEDB", twelve foreign-key failures), not its cause.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

from sqlalchemy import text
from sqlalchemy.engine import Connection

WATCHED = (
    "default_transaction_read_only",
    "transaction_read_only",
    "default_transaction_isolation",
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "idle_session_timeout",
    "session_replication_role",
    "search_path",
    "role",
    "session_authorization",
    "default_tablespace",
    "temp_tablespaces",
)
_OPTION = re.compile(r"^(?:-c\s*|--)([a-z_.]+)=(.*)$", re.S)
# Defaults of the role (in any database, or in this one) and of this database.
_ROLE_AND_DATABASE_DEFAULTS = text(
    "SELECT CASE WHEN s.setrole = 0 THEN 'database ' || d.datname "
    "            WHEN s.setdatabase = 0 THEN 'role ' || r.rolname "
    "            ELSE 'role ' || r.rolname || ' in database ' || d.datname END, "
    "       unnest(s.setconfig) "
    "FROM pg_db_role_setting s "
    "LEFT JOIN pg_roles r ON r.oid = s.setrole "
    "LEFT JOIN pg_database d ON d.oid = s.setdatabase "
    "WHERE (s.setrole = 0 OR r.rolname = current_user) "
    "  AND (s.setdatabase = 0 OR d.datname = ANY(CAST(:databases AS text[])))"
)


def from_environment(environ: Mapping[str, str]) -> list[str]:
    """Watched settings ``PGOPTIONS`` gives every connection: ``name=value (PGOPTIONS)``."""
    raw = environ.get("PGOPTIONS", "")
    try:
        words = shlex.split(raw)
    except ValueError:
        words = raw.split()
    found, pending = [], False
    for word in words:
        if word == "-c":
            pending = True
            continue
        match = _OPTION.match(("-c " if pending else "") + word)
        pending = False
        if match and match.group(1).replace("-", "_") in WATCHED:
            found.append(f"{match.group(1)}={match.group(2)} (PGOPTIONS)")
    return found


def from_server(connection: Connection, databases: list[str]) -> list[str]:
    """Watched defaults of the connected role and of ``databases``: ``name=value (where)``."""
    found = []
    for where, setting in connection.execute(_ROLE_AND_DATABASE_DEFAULTS, {"databases": databases}):
        name, _, value = str(setting).partition("=")
        if name in WATCHED:
            found.append(f"{name}={value} ({where} default)")
    return found


def as_cause(found: list[str]) -> str:
    """The sentence an error message appends when settings were found ('' when none)."""
    if not found:
        return ""
    return (
        f" Connection settings in force that may cause it: {'; '.join(found)}. Unset or "
        "change them for the tests."
    )
