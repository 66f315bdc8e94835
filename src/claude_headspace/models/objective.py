"""Objective: what the user is working towards, and its history."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Model
from ._base import timestamp


class Objective(Model):
    __tablename__ = "objectives"

    id: Mapped[int] = mapped_column(primary_key=True)
    current_text: Mapped[str] = mapped_column(sa.Text)
    constraints: Mapped[str | None] = mapped_column(sa.Text)
    priority_enabled: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    set_at: Mapped[datetime] = timestamp()

    history: Mapped[list[ObjectiveHistory]] = relationship(
        back_populates="objective",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(ObjectiveHistory.started_at.desc(), ObjectiveHistory.id.desc())",
    )

    def __repr__(self) -> str:
        return f"<Objective {self.id}>"


class ObjectiveHistory(Model):
    __tablename__ = "objective_histories"

    id: Mapped[int] = mapped_column(primary_key=True)
    objective_id: Mapped[int] = mapped_column(sa.ForeignKey("objectives.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(sa.Text)
    constraints: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[datetime] = timestamp()
    ended_at: Mapped[datetime | None] = timestamp(nullable=True, default=False)

    objective: Mapped[Objective] = relationship(back_populates="history")

    def __repr__(self) -> str:
        return f"<ObjectiveHistory {self.id}>"
