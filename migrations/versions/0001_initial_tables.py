"""Initial tables: projects, agents, tasks, turns, events, objectives, history.

The first cut used naive timestamps and had no project slug, no agent priority and
no CHECK constraints; later revisions add them, as the project learned.

Revision ID: 0001
Revises:
Create Date: 2026-01-29 10:30:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade():
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("github_repo", sa.String(length=255), nullable=True),
        sa.Column("current_branch", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("path", name=op.f("uq_projects_path")),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_uuid", sa.Uuid(), nullable=False),
        sa.Column("claude_session_id", sa.String(length=255), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("iterm_pane_id", sa.String(length=255), nullable=True),
        sa.Column("started_at", sa.DateTime(), server_default=NOW, nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), server_default=NOW, nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_agents_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("session_uuid", name=op.f("uq_agents_session_uuid")),
    )
    op.create_index("ix_agents_claude_session_id", "agents", ["claude_session_id"])
    op.create_index("ix_agents_project_id_last_seen_at", "agents", ["project_id", "last_seen_at"])
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            postgresql.ENUM(
                "idle",
                "commanded",
                "processing",
                "awaiting_input",
                "complete",
                name="taskstate",
            ),
            nullable=False,
        ),
        sa.Column("instruction", sa.Text(), nullable=True),
        sa.Column("completion_summary", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(), server_default=NOW, nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_tasks_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index("ix_tasks_agent_id_state", "tasks", ["agent_id", "state"])
    op.create_table(
        "turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("actor", postgresql.ENUM("user", "agent", name="turnactor"), nullable=False),
        sa.Column(
            "intent",
            postgresql.ENUM(
                "command", "answer", "question", "completion", "progress", name="turnintent"
            ),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.DateTime(), server_default=NOW, nullable=False),
        sa.Column("tool_input", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("answered_by_turn_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["answered_by_turn_id"],
            ["turns.id"],
            name=op.f("fk_turns_answered_by_turn_id_turns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_turns_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_turns")),
    )
    op.create_index("ix_turns_task_id_timestamp", "turns", ["task_id", "timestamp"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.DateTime(), server_default=NOW, nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("turn_id", sa.Integer(), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_events_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_events_project_id_projects"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_events_task_id_tasks"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["turn_id"], ["turns.id"], name=op.f("fk_events_turn_id_turns"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_project_id_timestamp", "events", ["project_id", "timestamp"])
    op.create_index("ix_events_agent_id_timestamp", "events", ["agent_id", "timestamp"])
    op.create_index("ix_events_event_type_timestamp", "events", ["event_type", "timestamp"])
    op.create_table(
        "objectives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("current_text", sa.Text(), nullable=False),
        sa.Column("constraints", sa.Text(), nullable=True),
        sa.Column("set_at", sa.DateTime(), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objectives")),
    )
    op.create_table(
        "objective_histories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("objective_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("constraints", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(), server_default=NOW, nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["objective_id"],
            ["objectives.id"],
            name=op.f("fk_objective_histories_objective_id_objectives"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objective_histories")),
    )


def downgrade():
    for table in (
        "objective_histories",
        "objectives",
        "events",
        "turns",
        "tasks",
        "agents",
        "projects",
    ):
        op.drop_table(table)  # drops the table's indexes and constraints with it
    for enum_name in ("turnintent", "turnactor", "taskstate"):
        postgresql.ENUM(name=enum_name).drop(op.get_bind())
