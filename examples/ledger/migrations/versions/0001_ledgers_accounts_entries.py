"""Ledgers, accounts (a tree) and entries, with the account <-> entry cycle.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.create_table(
        "ledgers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledgers"),
        sa.UniqueConstraint("name", name="uq_ledgers_name"),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ledger_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("opening_entry_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.ForeignKeyConstraint(
            ["ledger_id"], ["ledgers.id"], name="fk_accounts_ledger_id", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["accounts.id"], name="fk_accounts_parent_id", ondelete="SET NULL"
        ),
    )
    op.create_table(
        "entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column(
            "posted_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_entries"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_entries_account_id", ondelete="RESTRICT"
        ),
    )
    op.create_foreign_key(
        "fk_accounts_opening_entry_id",
        "accounts",
        "entries",
        ["opening_entry_id"],
        ["id"],
        ondelete="RESTRICT",
    )


def downgrade():
    op.drop_constraint("fk_accounts_opening_entry_id", "accounts", type_="foreignkey")
    op.drop_table("entries")
    op.drop_table("accounts")
    op.drop_table("ledgers")
