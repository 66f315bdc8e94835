"""The schema-parity checks, ready to run: import them into a test module of the project.

    # tests/test_schema.py
    from pytest_flask_pgdb.parity.checks import *  # noqa: F403

Each problem fails one check, with one message naming all of it:

- ``test_migrations_have_one_head``: several heads fail here, and every check that would
  run the migrations is skipped saying why (``pgdb_migrations`` skips);
- ``test_migrations_and_models_build_identical_schemas``: an empty database upgraded to
  head and one built by ``create_all`` are the same schema — the catalog snapshot, then
  the ``pg_dump`` backstop, then Alembic's autogenerate; grouped by kind, behaviour first;
- ``test_column_order``: a warning, or a failure with ``--pgdb-column-order=fail``;
- ``test_the_pg_dump_backstop_ran``: skipped without a matching ``pg_dump``, fails in CI;
- ``test_every_migration_goes_down_and_up_again``: the stairway; every revision whose
  downgrade does not reverse it, named.

Differences the project accepts for now are in its baseline (``baseline.py``).
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.dialects import postgresql

from pytest_flask_pgdb.databases.connections import admin_connection
from pytest_flask_pgdb.parity import stairway
from pytest_flask_pgdb.parity.compare import (
    ColumnOrderWarning,
    Schema,
    column_order_differences,
    schema_differences,
)
from pytest_flask_pgdb.parity.migrations import (
    autogenerate_diff,
    describe_autogenerate,
    several_heads,
)

if TYPE_CHECKING:
    from sqlalchemy import MetaData

    from pytest_flask_pgdb.databases.lifecycle import TestDatabase
    from pytest_flask_pgdb.parity.baseline import BaselineInUse
    from pytest_flask_pgdb.parity.migrations import Migrations
    from pytest_flask_pgdb.parity.snapshot import Difference

__all__ = [
    "test_column_order",
    "test_every_migration_goes_down_and_up_again",
    "test_migrations_and_models_build_identical_schemas",
    "test_migrations_have_one_head",
    "test_the_pg_dump_backstop_ran",
]


def test_migrations_have_one_head(pgdb_migrations_directory: Path) -> None:
    script = ScriptDirectory(str(pgdb_migrations_directory))
    if why := several_heads(script):
        pytest.fail(f"{why}; the checks that run the migrations skip until then", pytrace=False)
    assert script.get_heads(), f"no revision in {pgdb_migrations_directory}"


def test_migrations_and_models_build_identical_schemas(
    pgdb_migrated_schema: Schema,
    pgdb_models_schema: Schema,
    pgdb_migrated_database: TestDatabase,
    pgdb_metadata: MetaData,
    pgdb_parity_baseline: BaselineInUse,
) -> None:
    found = schema_differences(pgdb_migrated_schema, pgdb_models_schema)
    _judge(
        pgdb_parity_baseline,
        "schema",
        "the migrations and the models build different schemas",
        found,
    )
    if not found:  # autogenerate's words for the same things would only repeat them
        with admin_connection(pgdb_migrated_database.url) as connection:
            proposed = describe_autogenerate(autogenerate_diff(connection, pgdb_metadata))
        _judge(
            pgdb_parity_baseline,
            "autogenerate",
            "flask db migrate would write a revision",
            proposed,
        )
    # Not vacuously: everything the models define was read (never a count, which a
    # correct new table or index on both sides would break).
    snapshot = pgdb_models_schema.snapshot
    for kind, defined in defined_by(pgdb_metadata).items():
        missing = defined - set(snapshot.names(kind))
        assert not missing, f"the snapshot did not read the {kind}s {sorted(missing)}"
    assert snapshot.names("table"), "the models define no table: parity would prove nothing"


def test_column_order(
    pgdb_migrated_schema: Schema,
    pgdb_models_schema: Schema,
    pytestconfig: pytest.Config,
    pgdb_parity_baseline: BaselineInUse,
) -> None:
    """Reported as a warning by default; ``--pgdb-column-order=fail`` makes it fail."""
    differences = column_order_differences(pgdb_migrated_schema, pgdb_models_schema)
    mode = pytestconfig.getoption("pgdb_column_order") or pytestconfig.getini("pgdb_column_order")
    if mode == "fail":
        _judge(
            pgdb_parity_baseline,
            "column order",
            "the migrations and the models order columns differently",
            differences,
        )
        return
    for difference in differences:
        warnings.warn(ColumnOrderWarning(str(difference)), stacklevel=1)


def test_the_pg_dump_backstop_ran(pgdb_pg_dump: Path | None) -> None:
    """CI must not pass without the backstop; elsewhere it runs when pg_dump matches."""
    if pgdb_pg_dump is None:
        message = "no pg_dump of the server's major version on this machine: backstop off"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def test_every_migration_goes_down_and_up_again(
    pgdb_make_database: Callable[[str], TestDatabase],
    pgdb_migrations: Migrations,
    pgdb_pg_dump: Path | None,
    pgdb_migrated_schema: Schema,
    pgdb_parity_baseline: BaselineInUse,
) -> None:
    """Upgrade one revision, downgrade it, upgrade it again, from base to head
    (``stairway.py``); the head it ends at is what ``flask db upgrade`` builds."""
    labels = (f"stairway{n or ''}" for n in itertools.count())
    problems, at_head = stairway.walk(
        pgdb_migrations, lambda: pgdb_make_database(next(labels)).url, pgdb_pg_dump
    )
    if at_head is not None:
        problems += [
            f"the walk's head is not what flask db upgrade builds: {difference}"
            for difference in schema_differences(pgdb_migrated_schema, at_head)
        ]
    _judge(pgdb_parity_baseline, "stairway", "revisions that do not reverse", problems)


def defined_by(metadata: MetaData) -> dict[str, set[str]]:
    """The schema-qualified names of the tables, indexes and named constraints
    ``metadata`` defines, as the snapshot names them."""
    quote = postgresql.dialect().identifier_preparer.quote
    defined: dict[str, set[str]] = {"table": set(), "index": set(), "constraint": set()}
    for table in metadata.sorted_tables:
        name = f"{quote(table.schema or 'public')}.{quote(table.name)}"
        defined["table"].add(name)
        schema = quote(table.schema or "public")
        defined["index"] |= {f"{schema}.{quote(str(i.name))}" for i in table.indexes if i.name}
        defined["constraint"] |= {
            f"{name}.{quote(str(c.name))}" for c in table.constraints if isinstance(c.name, str)
        }
    return defined


def _judge(
    baseline: BaselineInUse, check: str, title: str, found: Sequence[str | Difference]
) -> None:
    """Fail with every finding the baseline does not accept, and every entry of it no
    longer found, in full (pytest would cut a long assertion message)."""
    failure = baseline.failure(check, title, found)
    if failure:
        pytest.fail(failure, pytrace=False)
