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
SECOND_HEAD = """revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
"""


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


def test_the_ini_alone_can_make_column_order_fail():
    ini_only = SimpleNamespace(getoption=lambda name: None, getini=lambda name: "fail")
    with pytest.raises(pytest.fail.Exception, match="order columns differently"):
        checks.test_column_order(schema("a, b"), schema("b, a"), ini_only, NO_BASELINE)


def test_no_backstop_skips_outside_ci_and_fails_in_it(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="backstop off"):
        checks.test_the_pg_dump_backstop_ran(None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="backstop off"):
        checks.test_the_pg_dump_backstop_ran(None)
    checks.test_the_pg_dump_backstop_ran(Path("/usr/bin/pg_dump"))  # found: nothing to say


def test_what_the_models_define_is_named_as_the_snapshot_names_it():
    from sqlalchemy import CheckConstraint, Column, Index, Integer, MetaData, Table

    metadata = MetaData()
    Table(
        "Mixed",
        metadata,
        Column("id", Integer, primary_key=True),
        CheckConstraint("id > 0", name="ck_positive"),
        Index("ix_mixed_id", "id"),
        schema="audit",
    )
    Table("plain", metadata, Column("id", Integer, primary_key=True))
    assert checks.defined_by(metadata) == {
        "table": {'audit."Mixed"', "public.plain"},
        "index": {"audit.ix_mixed_id"},
        "constraint": {'audit."Mixed".ck_positive'},  # unnamed ones are the server's to name
    }
