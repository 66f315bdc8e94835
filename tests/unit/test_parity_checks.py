"""The parity checks fail when they should, called as pytest calls them (no database:
their fixtures' values are made here). Whole runs: tests/reliability/test_parity_adoption.py."""

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_flask_pgdb.parity import checks
from pytest_flask_pgdb.parity.baseline import Baseline, BaselineInUse
from pytest_flask_pgdb.parity.compare import ColumnOrderWarning, Schema
from pytest_flask_pgdb.parity.snapshot import COLUMN_ORDER, Snapshot

HISTORY = Path(__file__).resolve().parents[2] / "migrations"
SECOND_HEAD = '''revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
'''


def test_several_heads_fail_the_heads_check_naming_them(tmp_path):
    shutil.copytree(HISTORY, tmp_path / "m", ignore=shutil.ignore_patterns("__pycache__"))
    checks.test_migrations_have_one_head(tmp_path / "m")  # our history: one head
    (tmp_path / "m" / "versions" / "0007_second_head.py").write_text(SECOND_HEAD)
    with pytest.raises(pytest.fail.Exception, match=r"2 heads \(0006, 0007\): merge them"):
        checks.test_migrations_have_one_head(tmp_path / "m")


def schema(order: str) -> Schema:
    return Schema(Snapshot({(COLUMN_ORDER, "public.t"): {"columns": order}}), None)


def config(mode: str) -> SimpleNamespace:
    return SimpleNamespace(getoption=lambda name: mode, getini=lambda name: "report")


NO_BASELINE = BaselineInUse(Baseline(Path("/nonexistent/parity-baseline.toml"), ()), False)


def test_column_order_fails_in_fail_mode_and_warns_otherwise():
    args = (schema("a, b"), schema("b, a"))
    with pytest.raises(pytest.fail.Exception, match="order columns differently"):
        checks.test_column_order(*args, config("fail"), NO_BASELINE)
    with pytest.warns(ColumnOrderWarning, match="column order public.t: columns"):
        checks.test_column_order(*args, config(""), NO_BASELINE)
    checks.test_column_order(schema("a, b"), schema("a, b"), config("fail"), NO_BASELINE)
