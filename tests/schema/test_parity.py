"""Migrations and models build the same schema; every migration reverses."""

import itertools

from claude_headspace.database import admin_connection, db
from claude_headspace.testing import migrations
from claude_headspace.testing.snapshot import diff_snapshots
from tests.schema.conftest import snapshot_of


def test_migrations_and_models_build_identical_schemas(head_snapshot, models_database):
    models = snapshot_of(models_database)
    assert diff_snapshots(head_snapshot, models) == []
    # Not vacuously: all seven tables, three enums, their sequences and indexes.
    assert len(head_snapshot.tables) == 7
    assert sorted(head_snapshot.enums) == ["taskstate", "turnactor", "turnintent"]
    assert len(head_snapshot.sequences) == 7
    assert head_snapshot.index_count() == 7


def test_autogenerate_proposes_nothing(migrated_database):
    with admin_connection(migrated_database.url) as connection:
        assert migrations.autogenerate_diff(connection, db.metadata) == []


def test_single_head_and_a_linear_unbroken_chain():
    script = migrations.script_directory()
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"
    assert len(script.get_bases()) == 1, f"several bases: {script.get_bases()}"
    chain = migrations.revisions_in_order()
    assert len(chain) >= 5
    assert chain[0].down_revision is None
    for previous, current in itertools.pairwise(chain):
        assert current.down_revision == previous.revision, (
            f"{current.revision} revises {current.down_revision!r}, expected {previous.revision}"
        )
        assert not current.is_merge_point
        assert not previous.is_branch_point
    assert chain[-1].revision == script.get_current_head()


def test_stairway_every_revision_goes_down_and_up_again(make_test_database):
    database = make_test_database("stairway")
    for script in migrations.revisions_in_order():
        migrations.upgrade(database.url, script.revision)
        after_first_upgrade = snapshot_of(database)
        migrations.downgrade(database.url, "-1")
        below = snapshot_of(database)
        assert diff_snapshots(after_first_upgrade, below, ("up", "down")), (
            f"downgrade of {script.revision} changed nothing"
        )
        migrations.upgrade(database.url, script.revision)
        assert (
            diff_snapshots(after_first_upgrade, snapshot_of(database), ("first", "again")) == []
        ), f"{script.revision}: upgrade, downgrade, upgrade does not come back to the same schema"


def test_round_trip_to_base_leaves_nothing_and_head_comes_back(make_test_database, head_snapshot):
    database = make_test_database("roundtrip")
    migrations.upgrade(database.url, "head")
    migrations.downgrade(database.url, "base")
    base = snapshot_of(database)
    assert base.is_empty(), f"left behind after downgrade to base: {base}"
    migrations.upgrade(database.url, "head")
    assert diff_snapshots(head_snapshot, snapshot_of(database)) == []
