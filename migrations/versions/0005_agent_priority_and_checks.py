"""Agent priority columns, CHECK constraints, partial unique claude_session_id.

Revision ID: 0005
Revises: 0004
Create Date: 2026-02-24 14:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PRIORITY_ALL_OR_NONE = (
    "(priority_score IS NULL AND priority_reason IS NULL AND priority_updated_at IS NULL)"
    " OR (priority_score IS NOT NULL AND priority_reason IS NOT NULL"
    " AND priority_updated_at IS NOT NULL)"
)


def upgrade():
    op.add_column("agents", sa.Column("priority_score", sa.Integer(), nullable=True))
    op.add_column("agents", sa.Column("priority_reason", sa.Text(), nullable=True))
    op.add_column(
        "agents",
        sa.Column("priority_updated_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_check_constraint(
        op.f("ck_agents_priority_all_or_none"), "agents", PRIORITY_ALL_OR_NONE
    )
    op.create_check_constraint(
        op.f("ck_agents_ended_after_started"),
        "agents",
        "ended_at IS NULL OR ended_at >= started_at",
    )
    op.create_check_constraint(
        op.f("ck_tasks_completed_after_started"),
        "tasks",
        "completed_at IS NULL OR completed_at >= started_at",
    )
    # A Claude session id identifies one agent once it is known; many agents have none.
    op.drop_index("ix_agents_claude_session_id", table_name="agents")
    op.create_index(
        "uq_agents_claude_session_id",
        "agents",
        ["claude_session_id"],
        unique=True,
        postgresql_where=sa.text("claude_session_id IS NOT NULL"),
    )


def downgrade():
    op.drop_index("uq_agents_claude_session_id", table_name="agents")
    op.create_index("ix_agents_claude_session_id", "agents", ["claude_session_id"])
    op.drop_constraint(op.f("ck_tasks_completed_after_started"), "tasks", type_="check")
    op.drop_constraint(op.f("ck_agents_ended_after_started"), "agents", type_="check")
    op.drop_constraint(op.f("ck_agents_priority_all_or_none"), "agents", type_="check")
    op.drop_column("agents", "priority_updated_at")
    op.drop_column("agents", "priority_reason")
    op.drop_column("agents", "priority_score")
