"""The guard: which databases the test machinery may create, empty or drop.

Two rules, both checked before anything destructive:

* **The name** is a test name: ``<name>_test`` or ``<name>_test_gw<N>`` (lowercase
  letters, digits, underscores; at most 63 bytes, PostgreSQL's limit), checked against
  what the server says (``current_database()``) as well as against settings.
* **The mark**: a test name proves nothing (a developer may call a database anything),
  so every database the machinery creates carries a mark, its database comment, that
  names the machinery and the run. Only a marked database is ever dropped or emptied;
  a database with a test name and no mark is somebody's data.

A database is created under a staging name and renamed once marked, so no database
with a test name is ever unmarked, even for an instant. A crash between ``CREATE`` and
``COMMENT`` leaves a staging database, whose name holds 64 random bits behind a prefix
of ours: nobody makes one by hand, so it is the mark until the comment is there.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Connection
from sqlalchemy.sql import text

from pytest_flask_pgdb.errors import UnsafeDatabaseError

MAX_NAME_BYTES = 63  # PostgreSQL's NAMEDATALEN - 1: longer names are silently truncated
TEST_NAME = re.compile(r"^[a-z0-9_]+_test(_gw[0-9]+)?$")
CREATOR = "pytest-flask-pgdb"
STAGING_PREFIX = "pgdb_new_"
# pgdb_new_<8 hex: the project>_<16 hex: random>_test
STAGING_NAME = re.compile(rf"^{STAGING_PREFIX}(?P<project>[0-9a-f]{{8}})_[0-9a-f]{{16}}_test$")
# The same for the server's regular expressions (no named groups there).
STAGING_SQL = rf"^{STAGING_PREFIX}[0-9a-f]{{8}}_[0-9a-f]{{16}}_test$"
# A SQL LIKE pattern that finds marks (and only marks) among database comments.
MARK_LIKE = '{"created_by": "' + CREATOR + '"%'


def is_test_database_name(name: str | None) -> bool:
    return (
        bool(name)
        and len(str(name).encode()) <= MAX_NAME_BYTES
        and bool(TEST_NAME.match(str(name)))
    )


def require_test_name(name: str | None, action: str = "use") -> str:
    """Return ``name`` if it is a test database name, else raise UnsafeDatabaseError."""
    if name is None or not is_test_database_name(name):
        raise UnsafeDatabaseError(
            f"refusing to {action} database {name!r}: it is not a test database. Test "
            "databases are named <name>_test or <name>_test_gw<N> (lowercase letters, digits, "
            f"underscores; at most {MAX_NAME_BYTES} characters). Set TEST_DATABASE_URL to a "
            "database whose name ends in _test."
        )
    return name


def project_tag(project: str) -> str:
    """8 hex digits of the project's name: which project a staging database is from."""
    return hashlib.sha256(project.encode()).hexdigest()[:8]


def staging_name(project: str) -> str:
    """A fresh name to create a database under before it is marked and renamed."""
    return f"{STAGING_PREFIX}{project_tag(project)}_{secrets.token_hex(8)}_test"


def is_staging_of(name: str, project: str) -> bool:
    """Is ``name`` a staging database of ``project`` (left by a crash before its mark)?"""
    match = STAGING_NAME.match(name)
    return match is not None and match.group("project") == project_tag(project)


RUN, TEMPLATE, KEPT = "run", "template", "kept"  # what a marked database is for


@dataclass(frozen=True)
class Mark:
    """Who created a test database: the project, the run (a random id), process and host.

    ``kind``: a run's database (``run``), a schema template (``template``: see
    ``templates.py``), or a run's database kept for the next run (``kept``); the last
    two name their ``schema`` (its key) and a kept one the ``check`` it was kept with.
    """

    project: str
    run: str
    pid: int
    host: str
    created: str
    kind: str = RUN
    schema: str = ""
    check: str = ""

    @classmethod
    def new(
        cls, run: str, project: str, kind: str = RUN, schema: str = "", check: str = ""
    ) -> Mark:
        return cls(
            project=project,
            run=run,
            pid=os.getpid(),
            host=socket.gethostname(),
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            kind=kind,
            schema=schema,
            check=check,
        )

    def comment(self) -> str:
        """The database comment; ``created_by`` first, so MARK_LIKE finds it."""
        return json.dumps(
            {
                "created_by": CREATOR,
                "project": self.project,
                "run": self.run,
                "pid": self.pid,
                "host": self.host,
                "created": self.created,
                "kind": self.kind,
                "schema": self.schema,
                "check": self.check,
                "note": _NOTES[self.kind],
            }
        )

    @classmethod
    def parse(cls, comment: str | None) -> Mark | None:
        """The mark in a database comment, or None when the comment is not one."""
        if not comment:
            return None
        try:
            data = json.loads(comment)
            if not isinstance(data, dict) or data.get("created_by") != CREATOR:
                return None
            kind = str(data.get("kind", RUN))
            if kind not in _NOTES:
                return None  # a kind this version does not know: not safe to touch
            return cls(
                str(data["project"]),
                str(data["run"]),
                int(data["pid"]),
                str(data["host"]),
                str(data["created"]),
                kind,
                str(data.get("schema", "")),
                str(data.get("check", "")),
            )
        except (ValueError, KeyError, TypeError):
            return None


_NOTES = {
    RUN: "a throwaway test database; dropped when its run ends",
    TEMPLATE: "a schema template test databases are cloned from; replaced when the schema changes",
    KEPT: "an empty test database kept for the next run; checked before it is used",
}

_MARK_OF = text(
    "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :name"
)


def database_exists_with_mark(connection: Connection, name: str) -> tuple[bool, Mark | None]:
    """``(exists, mark)`` for the database ``name`` on ``connection``'s server."""
    row = connection.execute(_MARK_OF, {"name": name}).first()
    if row is None:
        return False, None
    return True, Mark.parse(row[0])


def require_own_connection(connection: Connection, run: str, action: str) -> str:
    """Guard on what the server says: ``current_database()`` is a test name and ours.

    Ours means marked by ``run``: not merely by some test run.
    """
    name = require_test_name(connection.scalar(text("SELECT current_database()")), action)
    _, mark = database_exists_with_mark(connection, name)
    if mark is None or mark.run != run:
        whose = "has no test-run mark" if mark is None else "belongs to another test run"
        raise UnsafeDatabaseError(
            f"refusing to {action} database {name!r}: it {whose}, so this run did not create "
            "it. The tests only ever empty or drop databases they created."
        )
    return name
