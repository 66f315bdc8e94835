"""Turn: one message in a task, from the user or the agent."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db
from ._base import pg_enum, timestamp


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


class Turn(db.Model):
    __tablename__ = "turns"
    __table_args__ = (sa.Index("ix_turns_task_id_timestamp", "task_id", "timestamp"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id = sa.Column(sa.Integer, sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False)
    actor = sa.Column(pg_enum(TurnActor, "turnactor"), nullable=False)
    intent = sa.Column(pg_enum(TurnIntent, "turnintent"), nullable=False)
    text = sa.Column(sa.Text, nullable=False)
    timestamp = timestamp()
    tool_input = sa.Column(JSONB)
    answered_by_turn_id = sa.Column(sa.Integer, sa.ForeignKey("turns.id", ondelete="SET NULL"))

    task = relationship("Task", back_populates="turns")
    answered_by = relationship("Turn", remote_side=[id], foreign_keys=[answered_by_turn_id])

    def __repr__(self) -> str:
        return f"<Turn {self.id} {self.actor.value if self.actor else None}>"
