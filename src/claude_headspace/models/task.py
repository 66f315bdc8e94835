"""Task: one unit of work an agent does, from a command to its completion."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db
from ._base import pg_enum, timestamp


class TaskState(enum.Enum):
    IDLE = "idle"
    COMMANDED = "commanded"
    PROCESSING = "processing"
    AWAITING_INPUT = "awaiting_input"
    COMPLETE = "complete"


class Task(db.Model):
    __tablename__ = "tasks"
    __table_args__ = (
        sa.CheckConstraint(
            "completed_at IS NULL OR completed_at >= started_at",
            name="completed_after_started",
        ),
        sa.Index("ix_tasks_agent_id_state", "agent_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id = sa.Column(sa.Integer, sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False)
    state = sa.Column(
        pg_enum(TaskState, "taskstate"),
        nullable=False,
        default=TaskState.IDLE,
        server_default=TaskState.IDLE.value,
    )
    instruction = sa.Column(sa.Text)
    completion_summary = sa.Column(sa.Text)
    started_at = timestamp()
    completed_at = timestamp(nullable=True, default=False)

    agent = relationship("Agent", back_populates="tasks")
    turns = relationship(
        "Turn",
        back_populates="task",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(Turn.timestamp, Turn.id)",
    )

    def __repr__(self) -> str:
        return f"<Task {self.id} {self.state.value if self.state else None}>"
