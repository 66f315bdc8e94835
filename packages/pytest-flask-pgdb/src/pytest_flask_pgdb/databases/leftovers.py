"""What test runs left, and removing it: ``pytest --pgdb-leftovers [--pgdb-remove-leftovers]``.

Lists, on the server the tests use, every database this project's tests created (its
mark: run, process, host, age), each either in use by a live run or abandoned by a
dead one; the caches (schema templates, databases kept for the next run); and this
user's private-cluster directory: clusters of live and dead runs and the ``initdb``
template caches. Runs remove what dead runs left, and stale caches, by themselves;
this is for looking, and for a clean slate.

Removing drops the project's abandoned databases and the caches no live run holds
(the next run builds what it needs again), and deletes the clusters of dead runs and
the ``initdb`` caches. It never touches a database without the tests' mark, another
project's, nor one a live run holds.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from pytest_flask_pgdb.databases import cluster
from pytest_flask_pgdb.databases.connections import admin_connection, describe_error
from pytest_flask_pgdb.databases.guard import RUN, TEMPLATE
from pytest_flask_pgdb.databases.lifecycle import drop_abandoned, marked_databases
from pytest_flask_pgdb.databases.server import MAINTENANCE_DATABASE
from pytest_flask_pgdb.settings import TestSettings
from pytest_flask_pgdb.urls import address_of


def report_leftovers(settings: TestSettings, *, remove: bool, say: Callable[[str], None]) -> None:
    """Say what test runs left (and, with ``remove``, remove what dead runs left)."""
    where = address_of(settings.test_url)
    try:
        with admin_connection(settings.test_url.set(database=MAINTENANCE_DATABASE)) as admin:
            every = marked_databases(admin)
            databases = marked_databases(admin, settings.project)
            runs = 0
            for name, mark, abandoned in databases:
                made = (
                    f"run {mark.run[:12]}, pid {mark.pid} on {mark.host}, {mark.created}"
                    if mark is not None
                    else "being created, or left half-created by a crash"
                )
                if mark is not None and mark.kind != RUN:
                    what = "schema template" if mark.kind == TEMPLATE else "kept for the next run"
                    use = "in use by a live run" if not abandoned else "a cache"
                    say(f"database {name} on {where}: {what}, {use} ({mark.schema}; {made})")
                    continue
                runs += 1
                state = "abandoned by a dead run" if abandoned else "in use by a live run"
                say(f"database {name} on {where}: {state} ({made})")
            if remove:
                left: list[str] = []
                for name in drop_abandoned(admin, settings.project, caches=True, left=left):
                    say(f"dropped database {name}")
                for line in left:
                    say(f"not removed: database {line}")
            elif not runs:
                say(f"no test databases of runs on {where} (project {settings.project})")
            others = len(every) - len(databases)
            if others:
                say(f"{others} test database(s) of other projects on {where}: left alone")
    except SQLAlchemyError as exc:
        say(f"no test databases listed: the server at {where}: {describe_error(exc)}")
    for path, what in cluster.leftovers():
        say(f"private cluster files {path}: {what}")
    if remove:
        for path in cluster.remove_leftovers():
            say(f"removed {path}")
