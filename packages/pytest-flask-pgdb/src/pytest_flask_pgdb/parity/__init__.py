"""Schema parity: do the migrations and the models build the same schema?

``compare`` holds what a parity test calls (``read_schema``, ``schema_differences``,
``column_order_differences``, ``report``); ``migrations`` runs the app's Flask-Migrate
history and ``stairway`` walks it up, down and up again; ``snapshot`` and ``pgdump`` read
a database's schema two independent ways.
"""

from pytest_flask_pgdb.parity.compare import (
    BACKSTOP,
    ColumnOrderWarning,
    Schema,
    column_order_differences,
    matching_pg_dump,
    read_schema,
    report,
    schema_differences,
)

__all__ = [
    "BACKSTOP",
    "ColumnOrderWarning",
    "Schema",
    "column_order_differences",
    "matching_pg_dump",
    "read_schema",
    "report",
    "schema_differences",
]
