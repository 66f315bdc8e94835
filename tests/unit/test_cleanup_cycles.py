"""The statements that let a cleanup's DELETEs through foreign keys in a cycle."""

from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, create_engine

from pytest_flask_pgdb.reset.cleanup import _break_cycles_sql, deletion_order


def test_every_nullable_key_of_a_cycle_is_cleared_whatever_comes_before_it():
    metadata = MetaData()
    Table(
        "a",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("b_id", Integer, ForeignKey("b.id", deferrable=True), nullable=False),
    )
    Table(
        "b",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("c_id", Integer, ForeignKey("c.id"), nullable=False),  # cannot be cleared
    )
    Table(
        "c",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("a_id", Integer, ForeignKey("a.id"), nullable=True),
    )
    _tables, keys = deletion_order(metadata)
    by_table = {key.table.name: key for key in keys}
    assert sorted(by_table) == ["a", "b", "c"]
    engine = create_engine("postgresql+psycopg2://")  # its dialect quotes; never connects
    # The two keys that are not cleared first, the nullable one last.
    statements = _break_cycles_sql(engine, [by_table["a"], by_table["b"], by_table["c"]])
    assert statements == (
        "SET CONSTRAINTS ALL DEFERRED;UPDATE c SET a_id = NULL WHERE a_id IS NOT NULL;"
    )
