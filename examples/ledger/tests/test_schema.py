"""The migrations build what the models declare (pytest-flask-pgdb's schema parity)."""

import pytest

from pytest_flask_pgdb import parity


def test_migrations_and_models_build_the_same_schema(
    pgdb_make_database, pgdb_migrations, pgdb_metadata
):
    migrated = pgdb_make_database("migrated")
    pgdb_migrations.upgrade(migrated.url, "head")
    models = pgdb_make_database("models")
    models.build_schema(pgdb_metadata)
    differences = parity.schema_differences(
        parity.read_schema(migrated.url, None), parity.read_schema(models.url, None)
    )
    if differences:
        pytest.fail(parity.report("migrations and models differ", differences), pytrace=False)
    assert len(parity.read_schema(models.url, None).snapshot.names("table")) == 3


def test_the_migrations_go_down_and_up_again(pgdb_make_database, pgdb_migrations):
    database = pgdb_make_database("stairway")
    pgdb_migrations.upgrade(database.url, "head")
    pgdb_migrations.downgrade(database.url, "base")
    pgdb_migrations.upgrade(database.url, "head")
