"""What test runs left behind, and removing it: ``nox -s leftovers [-- --remove]``.

Lists, on the server the tests use (``TEST_DATABASE_URL``, else the app's settings),
every database the tests created (its mark: run, process, host, age), each either in
use by a live run or abandoned by a dead one, and this user's private-cluster
directory: clusters of live and dead runs and the ``initdb`` template caches. Runs
remove what dead runs left by themselves; this is for looking, and for a clean slate.

``--remove`` drops the abandoned databases and deletes the clusters of dead runs and
the template caches. It never touches a database without the tests' mark, nor one a
live run holds.
"""

from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy.exc import SQLAlchemyError

from ..config import address_of
from ..connections import admin_connection, describe_error
from . import cluster
from .lifecycle import drop_abandoned, marked_databases
from .server import MAINTENANCE_DATABASE
from .settings import SettingsError, read_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="leftovers", description=__doc__.splitlines()[0])
    parser.add_argument("--remove", action="store_true", help="remove what dead runs left")
    args = parser.parse_args(argv)
    try:
        settings = read_settings(os.environ)
    except SettingsError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    where = address_of(settings.test_url)
    try:
        with admin_connection(settings.test_url.set(database=MAINTENANCE_DATABASE)) as admin:
            databases = marked_databases(admin)
            for name, mark, abandoned in databases:
                state = "abandoned by a dead run" if abandoned else "in use by a live run"
                made = (
                    f"run {mark.run[:12]}, pid {mark.pid} on {mark.host}, {mark.created}"
                    if mark is not None
                    else "being created, or left half-created by a crash"
                )
                print(f"database {name} on {where}: {state} ({made})")
            if args.remove:
                for name in drop_abandoned(admin):
                    print(f"dropped database {name}")
            elif not databases:
                print(f"no test databases on {where}")
    except SQLAlchemyError as exc:
        print(f"no test databases listed: the server at {where}: {describe_error(exc)}")
    for path, what in cluster.leftovers():
        print(f"private cluster files {path}: {what}")
    if args.remove:
        for path in cluster.remove_leftovers():
            print(f"removed {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
