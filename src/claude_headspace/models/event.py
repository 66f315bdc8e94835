"""Event: the audit trail. Rows outlive what they refer to (every FK is SET NULL)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, MappedColumn, mapped_column

from ..database import Model
from ._base import timestamp


class EventType:
    """The event_type strings the application writes (a plain string column)."""

    SESSION_DISCOVERED = "session_discovered"
    SESSION_REGISTERED = "session_registered"
    SESSION_ENDED = "session_ended"
    TURN_DETECTED = "turn_detected"
    STATE_TRANSITION = "state_transition"
    OBJECTIVE_CHANGED = "objective_changed"
    NOTIFICATION_SENT = "notification_sent"
    HOOK_RECEIVED = "hook_received"
    HOOK_SESSION_START = "hook_session_start"
    HOOK_SESSION_END = "hook_session_end"
    HOOK_USER_PROMPT = "hook_user_prompt"
    HOOK_STOP = "hook_stop"
    HOOK_NOTIFICATION = "hook_notification"

    @classmethod
    def all(cls) -> tuple[str, ...]:
        return tuple(
            value for name, value in vars(cls).items() if name.isupper() and isinstance(value, str)
        )


def _set_null_fk(target: str) -> MappedColumn[Any]:
    return mapped_column(sa.ForeignKey(target, ondelete="SET NULL"))


class Event(Model):
    __tablename__ = "events"
    __table_args__ = (
        sa.Index("ix_events_project_id_timestamp", "project_id", "timestamp"),
        sa.Index("ix_events_agent_id_timestamp", "agent_id", "timestamp"),
        sa.Index("ix_events_event_type_timestamp", "event_type", "timestamp"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    timestamp: Mapped[datetime] = timestamp()
    project_id: Mapped[int | None] = _set_null_fk("projects.id")
    agent_id: Mapped[int | None] = _set_null_fk("agents.id")
    task_id: Mapped[int | None] = _set_null_fk("tasks.id")
    turn_id: Mapped[int | None] = _set_null_fk("turns.id")
    event_type: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[Any | None] = mapped_column(JSONB)

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.event_type}>"
