"""Schema templates: each distinct schema is built once, and test databases are clones.

A template is a marked database (kind ``template``) named
``pgdb_tpl_<project tag>_<key>_test``. Its **key** is a hash of everything that defines
what it holds: the DDL SQLAlchemy emits for the models' metadata (or the migration
files, for a migrated template), the server's version, the role (a role may clone only
databases it owns) and this module's format. A
changed column changes the DDL, so the key, so the name: the next run builds a new
template and never clones a stale one. Templates stay between runs; a template of the
project with another key that no live run holds is dropped when a run provides its
schema (``drop_stale``), and by ``--pgdb-remove-leftovers``.

Only a database with our mark, of this project, of kind ``template`` and with the
expected key is ever cloned: a database that merely has the name is refused.

Concurrency: a run holds the template's name **shared** while it may clone it (for the
whole run: a misbehaving test's database is rebuilt from it); building, and dropping,
take it **exclusively**. A template is built under a staging name and renamed when
complete and marked, so a crash never leaves half a template under its name. Nobody
may connect to a template (``ALLOW_CONNECTIONS false``): a stray session would make
every clone fail.

Clone strategy: ``WAL_LOG`` (PostgreSQL 15's default) — on this project's reference
machine 40 ms per clone against 66 ms for ``FILE_COPY``, which checkpoints, and faster
in every run (``nox -s bench``, "Clone strategies").
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from sqlalchemy import MetaData, create_mock_engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.engine.url import URL
from sqlalchemy.sql.ddl import ExecutableDDLElement

from pytest_flask_pgdb.databases.guard import (
    TEMPLATE,
    Mark,
    database_exists_with_mark,
    project_tag,
    staging_name,
)
from pytest_flask_pgdb.databases.locks import try_lock, unlock
from pytest_flask_pgdb.errors import DatabaseInUseError, UnownedDatabaseError

FORMAT = "pytest-flask-pgdb template 1"  # change when what a template holds changes
TEMPLATE_PREFIX = "pgdb_tpl_"
CLONE_STRATEGY = "WAL_LOG"
CLONE_STRATEGY_SINCE = 150000  # PostgreSQL 15 added STRATEGY; before it, always a file copy


def metadata_ddl(metadata: MetaData) -> str:
    """The DDL ``create_all`` emits for ``metadata`` on PostgreSQL, as text.

    Sorted: SQLAlchemy keeps a table's indexes in a set, so their order changes from
    one process to the next; the key must not.
    """
    statements: list[str] = []

    def collect(sql: ExecutableDDLElement, *_args: object, **_kwargs: object) -> None:
        statements.append(str(sql.compile(dialect=engine.dialect)).strip())

    engine = create_mock_engine(URL.create("postgresql+psycopg2"), collect)
    metadata.create_all(engine, checkfirst=False)
    return ";\n".join(sorted(statements))


def schema_key(*parts: str) -> str:
    """16 hex digits of a hash of what defines a schema (and of this format)."""
    digest = hashlib.sha256(FORMAT.encode())
    for part in parts:
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()[:16]


def template_name(project: str, key: str) -> str:
    return f"{TEMPLATE_PREFIX}{project_tag(project)}_{key}_test"


def schema_id(source: str, key: str) -> str:
    """What a mark's ``schema`` says: where the schema comes from, and its key."""
    return f"{source}:{key}"


def is_stale(mark: Mark, schema: str) -> bool:
    """A template or kept database built from the same source as ``schema``, another key."""
    return mark.schema.split(":")[0] == schema.split(":")[0] and mark.schema != schema


def is_our_template(mark: Mark | None, project: str, schema: str) -> bool:
    return (
        mark is not None
        and mark.kind == TEMPLATE
        and mark.project == project
        and mark.schema == schema
    )


def clone_sql(quote: Callable[[str], str], template: str, name: str, server_version: int) -> str:
    strategy = f" STRATEGY {CLONE_STRATEGY}" if server_version >= CLONE_STRATEGY_SINCE else ""
    return f"CREATE DATABASE {quote(name)} TEMPLATE {quote(template)}{strategy}"


def ensure_template(
    admin: Connection,
    *,
    project: str,
    run: str,
    source: str,
    key: str,
    build: Callable[[str], None],
    lock_wait: float,
    where: str,
) -> str:
    """The template for ``key``, built now if no run built it before; held shared.

    ``build(database)`` builds the schema in the (empty, marked) staging database
    ``database``. Returns the template's name; the caller's session holds it shared
    until it ends or calls ``release``.
    """
    name = template_name(project, key)
    schema = schema_id(source, key)
    quote = admin.dialect.identifier_preparer.quote
    deadline = time.monotonic() + lock_wait
    while True:
        if try_lock(admin, name, shared=True):
            exists, mark = database_exists_with_mark(admin, name)
            if exists and is_our_template(mark, project, schema):
                return name
            unlock(admin, name, shared=True)
            if exists:
                raise UnownedDatabaseError(
                    f"database {name!r} on {where} has the name of a schema template of this "
                    "project but not its mark, so it is never cloned nor dropped. Drop it "
                    f"yourself if it is disposable (DROP DATABASE {name};)."
                )
        if try_lock(admin, name):  # nobody clones or builds it: ours to build
            try:
                exists, mark = database_exists_with_mark(admin, name)
                if not exists:
                    _build(admin, quote, name, project=project, run=run, schema=schema, build=build)
                try_lock(admin, name, shared=True)  # same session: granted at once
            finally:
                unlock(admin, name)
            continue  # checked again, shared, like any other run's template
        if time.monotonic() >= deadline:
            raise DatabaseInUseError(
                f"the schema template {name!r} on {where} is being built by another run "
                f"(waited {lock_wait:g} s); run again when it is done."
            )
        time.sleep(0.05)  # another run is building it: it takes a few hundred ms


def _build(
    admin: Connection,
    quote: Callable[[str], str],
    name: str,
    *,
    project: str,
    run: str,
    schema: str,
    build: Callable[[str], None],
) -> None:
    """Build under a staging name (claimed: no sweep takes it), mark, close to
    connections, rename."""
    staging = staging_name(project)
    try_lock(admin, staging)
    admin.execute(text(f"CREATE DATABASE {quote(staging)}"))
    try:
        mark = Mark.new(run, project, kind=TEMPLATE, schema=schema).comment()
        admin.execute(text(f"COMMENT ON DATABASE {quote(staging)} IS :mark").bindparams(mark=mark))
        build(staging)
        admin.execute(text(f"ALTER DATABASE {quote(staging)} ALLOW_CONNECTIONS false"))
        admin.execute(text(f"ALTER DATABASE {quote(staging)} RENAME TO {quote(name)}"))
    except BaseException:
        if not admin.invalidated:  # else the server went away: the next sweep drops it
            admin.execute(text(f"DROP DATABASE IF EXISTS {quote(staging)} WITH (FORCE)"))
        raise
    finally:
        unlock(admin, staging)
