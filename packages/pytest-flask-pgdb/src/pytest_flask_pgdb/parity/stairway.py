"""The stairway: every revision goes down to its parent and up again.

From base to head: upgrade one revision, downgrade it, upgrade it again. The downgrade
must give back exactly the schema before the upgrade (for the first revision: an empty
database), and the second upgrade the same schema as the first. A revision that does
not reverse is reported, and the walk goes on from a fresh database upgraded to it: one
run names every such revision of the history, not only the first.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from pytest_flask_pgdb.databases.connections import describe_error
from pytest_flask_pgdb.parity.compare import Schema, read_schema, report, schema_differences
from pytest_flask_pgdb.parity.migrations import Migrations


def walk(
    migrations: Migrations, new_database: Callable[[], URL], pg_dump: Path | None
) -> tuple[list[str], Schema | None]:
    """``(problems, schema at head)``: one report per revision that does not reverse;
    the schema the walk ended with (None if it could not reach head)."""
    problems: list[str] = []
    url = new_database()
    below = read_schema(url, pg_dump)
    for script in migrations.revisions_in_order():
        revision = script.revision
        try:
            migrations.upgrade(url, revision)
            above = read_schema(url, pg_dump)
            migrations.downgrade(url, "-1")
            found = schema_differences(
                below, read_schema(url, pg_dump), ("before", "after downgrade")
            )
            if found:
                title = f"the downgrade of {revision} does not give back the schema before it"
            else:
                migrations.upgrade(url, revision)
                below = read_schema(url, pg_dump)
                found = schema_differences(above, below, ("first upgrade", "second upgrade"))
                if not found:
                    continue
                title = f"{revision}: upgrade, downgrade, upgrade does not give the same schema"
            problems.append(report(title, found))
        except (SQLAlchemyError, SystemExit) as exc:  # (flask-migrate exits on Alembic's errors)
            problems.append(f"{revision}: the step failed: {_described(exc)}")
        # Not at this revision as the history builds it: go on from a fresh database there.
        url = new_database()
        try:
            migrations.upgrade(url, revision)
        except (SQLAlchemyError, SystemExit) as exc:
            problems.append(f"{revision}: the upgrade to it fails: {_described(exc)}")
            return problems, None
        below = read_schema(url, pg_dump)
    return problems, below


def _described(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return "flask db exited (its error is logged above)"
    return describe_error(exc)
