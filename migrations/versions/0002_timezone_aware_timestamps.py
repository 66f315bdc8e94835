"""Timestamps become timezone-aware (timestamptz); stored values were UTC.

Revision ID: 0002
Revises: 0001
Create Date: 2026-02-03 09:12:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIMESTAMP_COLUMNS = {
    "projects": ["created_at"],
    "agents": ["started_at", "last_seen_at", "ended_at"],
    "tasks": ["started_at", "completed_at"],
    "turns": ["timestamp"],
    "events": ["timestamp"],
    "objectives": ["set_at"],
    "objective_histories": ["started_at", "ended_at"],
}


def upgrade():
    for table, columns in TIMESTAMP_COLUMNS.items():
        for column in columns:
            op.alter_column(
                table,
                column,
                type_=sa.DateTime(timezone=True),
                existing_type=sa.DateTime(),
                postgresql_using=f"\"{column}\" AT TIME ZONE 'UTC'",
            )


def downgrade():
    for table, columns in TIMESTAMP_COLUMNS.items():
        for column in columns:
            op.alter_column(
                table,
                column,
                type_=sa.DateTime(),
                existing_type=sa.DateTime(timezone=True),
                postgresql_using=f"\"{column}\" AT TIME ZONE 'UTC'",
            )
