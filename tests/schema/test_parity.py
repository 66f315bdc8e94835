"""Migrations and models build the same schema; every migration reverses.

The checks are the plugin's (``pytest_flask_pgdb.parity.checks``, each problem one
failure: heads, the schemas, column order, the backstop, the stairway); the baseline of
accepted differences is ``tests/schema/parity-baseline.toml`` (none: the file is absent).
Below them, what only our history promises.
"""

import itertools

from pytest_flask_pgdb.parity.checks import *  # noqa: F403 -- the plugin's parity checks


def test_a_linear_unbroken_chain(pgdb_migrations):
    """Our history has no branches nor merges: every revision revises the one before."""
    script = pgdb_migrations.script_directory()
    assert len(script.get_bases()) == 1, f"several bases: {script.get_bases()}"
    chain = pgdb_migrations.revisions_in_order()
    assert chain[0].down_revision is None
    for previous, current in itertools.pairwise(chain):
        assert current.down_revision == previous.revision, (
            f"{current.revision} revises {current.down_revision!r}, expected {previous.revision}"
        )
    assert chain[-1].revision == script.get_current_head()
