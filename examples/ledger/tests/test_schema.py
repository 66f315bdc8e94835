"""The migrations build what the models declare: pytest-flask-pgdb's schema-parity checks
(one head, identical schemas, column order, the pg_dump backstop, every migration down
and up again), imported as they are. Differences accepted for now would go in
``parity-baseline.toml`` beside ``pyproject.toml`` (``--pgdb-write-parity-baseline``)."""

from pytest_flask_pgdb.parity.checks import *  # noqa: F403
