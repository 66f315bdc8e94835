"""Drive the real Flask-Migrate/Alembic history against a test database.

Used by the schema parity checks (through the ``migrations`` fixture): upgrade and
downgrade through ``flask_migrate`` (the same code path as ``flask db upgrade``), the
revision graph, and Alembic's autogenerate comparison.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from flask import Flask
from sqlalchemy import MetaData
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL, Connection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.types import TypeEngine

from pytest_flask_pgdb.app import sqlalchemy_of
from pytest_flask_pgdb.databases.guard import require_test_name


@dataclass(frozen=True)
class Migrations:
    """The app's Flask-Migrate history (``directory``), run on test databases.

    ``pgdb_app_factory`` is the project's fixture of that name: the app it builds for a test
    database's URL runs the migrations exactly as ``flask db upgrade`` would.
    """

    directory: Path
    app_factory: Callable[..., Flask]

    def key(self) -> str:
        """A hash of every file of the history (``env.py``, revisions, ``alembic.ini``):
        what a migrated template is named by."""
        digest = hashlib.sha256()
        for path in sorted(self.directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(self.directory).as_posix().encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
        return digest.hexdigest()

    def script_directory(self) -> ScriptDirectory:
        return ScriptDirectory(str(self.directory))

    def several_heads(self) -> str | None:
        return several_heads(self.script_directory())

    def revisions_in_order(self) -> list[Script]:
        """Every revision from the first to head."""
        return list(reversed(list(self.script_directory().walk_revisions())))

    @contextmanager
    def app_on(self, url: URL) -> Iterator[Flask]:
        """An app bound to the test database ``url``, in an app context."""
        require_test_name(url.database, "migrate")
        app = self.app_factory(database_url=url.render_as_string(hide_password=False))
        sqlalchemy = sqlalchemy_of(app)
        with app.app_context():
            try:
                yield app
            finally:
                sqlalchemy.session.remove()
                sqlalchemy.engine.dispose()

    def upgrade(self, url: URL, revision: str = "head") -> None:
        with self.steps_on(url) as steps:
            steps.upgrade(revision)

    def downgrade(self, url: URL, revision: str = "-1") -> None:
        with self.steps_on(url) as steps:
            steps.downgrade(revision)

    @contextmanager
    def steps_on(self, url: URL) -> Iterator[Steps]:
        """Several upgrades and downgrades of one database in one app (and its pooled
        connection): a step then costs the migration, not an app and a login."""
        with self.app_on(url):
            yield Steps(str(self.directory))


@dataclass(frozen=True)
class Steps:
    """``flask db upgrade`` / ``downgrade`` in the app of :meth:`Migrations.steps_on`."""

    directory: str

    def upgrade(self, revision: str = "head") -> None:
        _run(flask_migrate.upgrade, self.directory, revision)

    def downgrade(self, revision: str = "-1") -> None:
        _run(flask_migrate.downgrade, self.directory, revision)


def several_heads(script: ScriptDirectory) -> str | None:
    """Why the history cannot be run to one head, or None: ``flask db upgrade`` refuses
    several heads."""
    heads = script.get_heads()
    if len(heads) < 2:
        return None
    return (
        f"the migrations have {len(heads)} heads ({', '.join(sorted(heads))}): merge "
        "them (flask db merge heads)"
    )


class MigrationError(RuntimeError):
    """Alembic refused a command (several heads, an unknown revision, …): what
    ``flask db`` would print before exiting, as an exception a check can report."""


def _run(command: Any, directory: str, revision: str) -> None:
    """The Flask-Migrate command without its ``sys.exit(1)`` on Alembic's errors (a
    ``SystemExit`` in a session fixture derails pytest itself); Alembic's INFO lines off,
    as the parity checks run dozens of steps."""
    alembic_logger = logging.getLogger("alembic")
    level = alembic_logger.level
    alembic_logger.setLevel(logging.WARNING)
    try:
        command.__wrapped__(directory, revision)  # flask_migrate's catch_errors wraps it
    except (CommandError, RuntimeError) as exc:
        raise MigrationError(f"flask db {command.__name__} {revision}: {exc}") from None
    finally:
        alembic_logger.setLevel(level)


def autogenerate_diff(connection: Connection, metadata: MetaData) -> list[Any]:
    """What ``flask db migrate`` would write: Alembic's comparison, types and defaults on."""
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return compare_metadata(context, metadata)


def describe_autogenerate(diff: list[Any]) -> list[str]:
    """Alembic's comparison as readable lines: ``modify_comment agents.session_uuid: …``."""
    lines = []
    for item in diff:
        for operation in item if isinstance(item, list) else [item]:
            name, *args = operation
            if name.startswith("modify_"):
                _schema, table, column, _existing, database_value, models_value = args
                lines.append(
                    f"{name} {table}.{column}: database {readable(database_value)}, "
                    f"models {readable(models_value)}"
                )
            else:
                # (schema, table name, Column): the column names its table itself
                objects = [a for a in args if a is not None and not isinstance(a, str)]
                lines.append(f"{name} " + ", ".join(_described(a) for a in objects or args))
    return lines


def _described(thing: Any) -> str:
    table = getattr(thing, "table", None)
    name = getattr(thing, "name", None)
    if table is not None and name is not None:
        return f"{table.name}.{name}"
    return str(name) if name is not None else repr(thing)


def readable(value: Any) -> str:
    """A value of Alembic's comparison as SQL text: a server default is ``now()``, not
    ``DefaultClause(<TextClause object at 0x…>)``; a type is its DDL name."""
    if value is None:
        return "none"
    sql = getattr(value, "arg", getattr(value, "sqltext", value))  # DefaultClause, Computed
    if isinstance(sql, str):
        return repr(sql)
    if isinstance(getattr(sql, "text", None), str):  # TextClause
        return str(sql.text)
    if isinstance(sql, ClauseElement):
        compiled = sql.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
        return str(compiled)
    if isinstance(value, TypeEngine):
        return str(value.compile(dialect=postgresql.dialect()))
    return repr(value)
