"""Agent: one Claude Code session working in a project."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Model
from ._base import timestamp
from .task import Task, TaskState

if TYPE_CHECKING:
    from .project import Project


class Agent(Model):
    __tablename__ = "agents"
    __table_args__ = (
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at", name="ended_after_started"
        ),
        sa.CheckConstraint(
            "(priority_score IS NULL AND priority_reason IS NULL"
            " AND priority_updated_at IS NULL)"
            " OR (priority_score IS NOT NULL AND priority_reason IS NOT NULL"
            " AND priority_updated_at IS NOT NULL)",
            name="priority_all_or_none",
        ),
        sa.Index("ix_agents_project_id_last_seen_at", "project_id", "last_seen_at"),
        sa.Index(
            "uq_agents_claude_session_id",
            "claude_session_id",
            unique=True,
            postgresql_where=sa.text("claude_session_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The Claude Code session's own id: never invented here (no default), so an agent
    # recorded without its session fails at flush instead of getting a fake identity.
    session_uuid: Mapped[uuid.UUID] = mapped_column(sa.Uuid, unique=True)
    claude_session_id: Mapped[str | None] = mapped_column(sa.String(255))
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    iterm_pane_id: Mapped[str | None] = mapped_column(sa.String(255))
    started_at: Mapped[datetime] = timestamp()
    last_seen_at: Mapped[datetime] = timestamp()
    ended_at: Mapped[datetime | None] = timestamp(nullable=True, default=False)
    priority_score: Mapped[int | None] = mapped_column(sa.Integer)
    priority_reason: Mapped[str | None] = mapped_column(sa.Text)
    priority_updated_at: Mapped[datetime | None] = timestamp(nullable=True, default=False)

    project: Mapped[Project] = relationship(back_populates="agents")
    tasks: Mapped[list[Task]] = relationship(
        back_populates="agent",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by=(Task.started_at.desc(), Task.id.desc()),
    )

    @property
    def state(self) -> TaskState:
        """The state of the newest task that is not complete, else ``idle``."""
        for task in self.tasks:  # newest first
            if task.state is not TaskState.COMPLETE:
                return task.state
        return TaskState.IDLE

    def __repr__(self) -> str:
        return f"<Agent {self.id} {self.session_uuid}>"
