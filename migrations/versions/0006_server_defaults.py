"""Server defaults: tasks start idle; objectives gain priority_enabled (default true).

Revision ID: 0006
Revises: 0005
Create Date: 2026-03-03 08:50:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TASKSTATE = postgresql.ENUM(name="taskstate", create_type=False)


def upgrade():
    op.alter_column("tasks", "state", existing_type=TASKSTATE, server_default="idle")
    op.add_column(
        "objectives",
        sa.Column("priority_enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
    )


def downgrade():
    op.drop_column("objectives", "priority_enabled")
    op.alter_column("tasks", "state", existing_type=TASKSTATE, server_default=None)
