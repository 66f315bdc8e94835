"""The turn intent enum gains 'end_of_task' (a wrap-up summary that closes a task).

Revision ID: 0003
Revises: 0002
Create Date: 2026-02-10 16:40:00
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OLD_LABELS = ("command", "answer", "question", "completion", "progress")


def upgrade():
    # PostgreSQL 12+ allows this inside the migration's transaction; the new label
    # is only usable after commit, and nothing here uses it.
    op.execute("ALTER TYPE turnintent ADD VALUE IF NOT EXISTS 'end_of_task'")


def downgrade():
    # PostgreSQL cannot drop an enum label: rebuild the type without it, mapping
    # rows that used it to the nearest older meaning.
    op.execute("UPDATE turns SET intent = 'completion' WHERE intent = 'end_of_task'")
    op.execute("ALTER TYPE turnintent RENAME TO turnintent_old")
    labels = ", ".join(f"'{label}'" for label in OLD_LABELS)
    op.execute(f"CREATE TYPE turnintent AS ENUM ({labels})")
    op.execute(
        "ALTER TABLE turns ALTER COLUMN intent TYPE turnintent USING intent::text::turnintent"
    )
    op.execute("DROP TYPE turnintent_old")
