"""Task: one unit of work an agent does, from a command to its completion."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Model
from ._base import pg_enum, timestamp

if TYPE_CHECKING:
    from .agent import Agent
    from .turn import Turn


class TaskState(enum.Enum):
    IDLE = "idle"
    COMMANDED = "commanded"
    PROCESSING = "processing"
    AWAITING_INPUT = "awaiting_input"
    COMPLETE = "complete"


class Task(Model):
    __tablename__ = "tasks"
    __table_args__ = (
        sa.CheckConstraint(
            "completed_at IS NULL OR completed_at >= started_at",
            name="completed_after_started",
        ),
        sa.Index("ix_tasks_agent_id_state", "agent_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("agents.id", ondelete="CASCADE"))
    state: Mapped[TaskState] = mapped_column(
        pg_enum(TaskState, "taskstate"),
        default=TaskState.IDLE,
        server_default=TaskState.IDLE.value,
    )
    instruction: Mapped[str | None] = mapped_column(sa.Text)
    completion_summary: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[datetime] = timestamp()
    completed_at: Mapped[datetime | None] = timestamp(nullable=True, default=False)

    agent: Mapped[Agent] = relationship(back_populates="tasks")
    turns: Mapped[list[Turn]] = relationship(
        back_populates="task",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(Turn.timestamp, Turn.id)",
    )

    def __repr__(self) -> str:
        return f"<Task {self.id} {self.state.value if self.state else None}>"
