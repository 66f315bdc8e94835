"""Turn: one message in a task, from the user or the agent."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Model
from ._base import pg_enum, timestamp

if TYPE_CHECKING:
    from .task import Task


class TurnActor(enum.Enum):
    USER = "user"
    AGENT = "agent"


class TurnIntent(enum.Enum):
    COMMAND = "command"
    ANSWER = "answer"
    QUESTION = "question"
    COMPLETION = "completion"
    PROGRESS = "progress"
    END_OF_TASK = "end_of_task"


class Turn(Model):
    __tablename__ = "turns"
    __table_args__ = (sa.Index("ix_turns_task_id_timestamp", "task_id", "timestamp"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.id", ondelete="CASCADE"))
    actor: Mapped[TurnActor] = mapped_column(pg_enum(TurnActor, "turnactor"))
    intent: Mapped[TurnIntent] = mapped_column(pg_enum(TurnIntent, "turnintent"))
    text: Mapped[str] = mapped_column(sa.Text)
    timestamp: Mapped[datetime] = timestamp()
    tool_input: Mapped[Any | None] = mapped_column(JSONB)
    answered_by_turn_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("turns.id", ondelete="SET NULL")
    )

    task: Mapped[Task] = relationship(back_populates="turns")
    answered_by: Mapped[Turn | None] = relationship(
        remote_side=[id], foreign_keys=[answered_by_turn_id]
    )

    def __repr__(self) -> str:
        return f"<Turn {self.id} {self.actor.value if self.actor else None}>"
