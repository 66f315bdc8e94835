"""The stairway: every revision goes down to its parent and up again.

From base to head: upgrade one revision, downgrade it, upgrade it again. The downgrade
must give back exactly the schema before the upgrade (for the first revision: an empty
database), and the second upgrade the same schema as the first. A revision that does
not reverse is reported, and the walk goes on from a fresh database upgraded to it: one
run names every such revision of the history, not only the first.

Each step is compared by the catalog snapshot alone, read on one connection per
database (a new session reads the catalogs three times slower) while one app runs the steps;
``pg_dump`` (the backstop) reads only the head the walk ends at, which the caller
compares with what ``flask db upgrade`` builds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from pytest_flask_pgdb.databases.connections import admin_connection, describe_error
from pytest_flask_pgdb.parity.compare import Schema, read_schema, report, schema_differences
from pytest_flask_pgdb.parity.migrations import Migrations, Steps
from pytest_flask_pgdb.parity.snapshot import take_snapshot

_STEP_ERRORS = (SQLAlchemyError, SystemExit)  # flask-migrate exits on Alembic's errors


def walk(
    migrations: Migrations, new_database: Callable[[], URL], pg_dump: Path | None
) -> tuple[list[str], Schema | None]:
    """``(problems, schema at head)``: one report per revision that does not reverse;
    the schema at head, with ``pg_dump``'s reading (None if the walk could not reach it)."""
    problems: list[str] = []
    with ExitStack() as on_database:
        url = new_database()
        steps, read = on_database.enter_context(_on(migrations, url))
        below = read()
        for script in migrations.revisions_in_order():
            revision = script.revision
            try:
                steps.upgrade(revision)
                above = read()
                steps.downgrade("-1")
                found = schema_differences(below, read(), ("before", "after downgrade"))
                if found:
                    title = f"the downgrade of {revision} does not give back the schema before it"
                else:
                    steps.upgrade(revision)
                    below = read()
                    found = schema_differences(above, below, ("first upgrade", "second upgrade"))
                    if not found:
                        continue
                    title = f"{revision}: upgrade, downgrade, upgrade does not give the same schema"
                problems.append(report(title, found))
            except _STEP_ERRORS as exc:
                problems.append(f"{revision}: the step failed: {_described(exc)}")
            # Not at this revision as the history builds it: go on from a fresh database there.
            on_database.close()
            url = new_database()
            steps, read = on_database.enter_context(_on(migrations, url))
            try:
                steps.upgrade(revision)
            except _STEP_ERRORS as exc:
                problems.append(f"{revision}: the upgrade to it fails: {_described(exc)}")
                return problems, None
            below = read()
    return problems, read_schema(url, pg_dump)


@contextmanager
def _on(migrations: Migrations, url: URL) -> Iterator[tuple[Steps, Callable[[], Schema]]]:
    with migrations.steps_on(url) as steps, admin_connection(url) as connection:
        yield steps, lambda: Schema(take_snapshot(connection), None)


def _described(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return "flask db exited (its error is logged above)"
    return describe_error(exc)
