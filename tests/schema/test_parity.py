"""Migrations and models build the same schema; every migration reverses.

Each kind of disagreement fails exactly one test here, with the whole finding:
the schemas (snapshot, then pg_dump as a backstop, then Alembic's autogenerate) in
``test_migrations_and_models_build_identical_schemas``, column order (reported unless
``--pgdb-column-order=fail``) in ``test_column_order``, the revision graph and each
downgrade in the tests after them.
"""

import itertools
import os
import warnings

import pytest

from claude_headspace.database import db
from pytest_flask_pgdb import parity
from pytest_flask_pgdb.databases.connections import admin_connection
from pytest_flask_pgdb.parity import stairway
from pytest_flask_pgdb.parity.migrations import autogenerate_diff, describe_autogenerate


def fail_if_any(title, entries):
    """Fail with every entry in full (pytest would cut a long assertion message)."""
    if entries:
        pytest.fail(parity.report(title, entries), pytrace=False)


def test_migrations_and_models_build_identical_schemas(
    migrated_schema, models_schema, migrated_database
):
    fail_if_any(
        "the migrations and the models build different schemas",
        parity.schema_differences(migrated_schema, models_schema),
    )
    with admin_connection(migrated_database.url) as connection:
        proposed = describe_autogenerate(autogenerate_diff(connection, db.metadata))
    fail_if_any("flask db migrate would write a revision", proposed)
    # Not vacuously: everything the models define was read — not a count, which a
    # correct new table or index on both sides would break.
    snapshot = migrated_schema.snapshot
    for kind, defined in defined_by_the_models().items():
        assert defined, f"the models define no {kind}: this test would prove nothing"
        missing = defined - set(snapshot.names(kind))
        assert not missing, f"the snapshot did not read the {kind}s {sorted(missing)}"
    assert snapshot.names("type", kind="enum"), "no enum read"


def defined_by_the_models():
    """Schema-qualified names of what ``db.metadata`` defines, by the snapshot's kinds."""
    tables = db.metadata.sorted_tables
    return {
        "table": {f"{t.schema or 'public'}.{t.name}" for t in tables},
        "index": {f"{t.schema or 'public'}.{index.name}" for t in tables for index in t.indexes},
        "constraint": {
            f"{t.schema or 'public'}.{t.name}.{constraint.name}"
            for t in tables
            for constraint in t.constraints
        },
    }


def test_column_order(migrated_schema, models_schema, pytestconfig):
    """Reported as a warning by default; ``--pgdb-column-order=fail`` makes it fail."""
    differences = parity.column_order_differences(migrated_schema, models_schema)
    mode = pytestconfig.getoption("pgdb_column_order") or pytestconfig.getini("pgdb_column_order")
    if mode == "fail":
        fail_if_any("the migrations and the models order columns differently", differences)
    for difference in differences:
        warnings.warn(parity.ColumnOrderWarning(difference), stacklevel=1)


def test_the_pg_dump_backstop_ran(pg_dump):
    """CI must not pass without the backstop; elsewhere it runs when pg_dump matches."""
    if pg_dump is None:
        message = "no pg_dump of the server's major version on this machine: backstop off"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def test_single_head_and_a_linear_unbroken_chain(pgdb_migrations):
    script = pgdb_migrations.script_directory()
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"
    assert len(script.get_bases()) == 1, f"several bases: {script.get_bases()}"
    chain = pgdb_migrations.revisions_in_order()
    assert len(chain) >= 5
    assert chain[0].down_revision is None
    for previous, current in itertools.pairwise(chain):
        assert current.down_revision == previous.revision, (
            f"{current.revision} revises {current.down_revision!r}, expected {previous.revision}"
        )
        assert not current.is_merge_point
        assert not previous.is_branch_point
    assert chain[-1].revision == script.get_current_head()


def test_stairway_every_revision_goes_down_to_its_parent_and_up_again(
    pgdb_make_database, pgdb_migrations, pg_dump, migrated_schema
):
    """Upgrade one revision, downgrade it, upgrade it again: from base to head
    (``parity/stairway.py``). Every revision that does not reverse is named. Ends at head,
    which must be what ``flask db upgrade`` builds."""
    labels = (f"stairway{n or ''}" for n in itertools.count())
    problems, at_head = stairway.walk(
        pgdb_migrations, lambda: pgdb_make_database(next(labels)).url, pg_dump
    )
    fail_if_any("revisions that do not reverse", problems)
    assert at_head is not None
    assert parity.schema_differences(migrated_schema, at_head) == []
