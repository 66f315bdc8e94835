"""Objective: what the user is working towards, and its history."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db
from ._base import timestamp


class Objective(db.Model):
    __tablename__ = "objectives"

    id: Mapped[int] = mapped_column(primary_key=True)
    current_text = sa.Column(sa.Text, nullable=False)
    constraints = sa.Column(sa.Text)
    priority_enabled = sa.Column(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    set_at = timestamp()

    history = relationship(
        "ObjectiveHistory",
        back_populates="objective",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(ObjectiveHistory.started_at.desc(), ObjectiveHistory.id.desc())",
    )

    def __repr__(self) -> str:
        return f"<Objective {self.id}>"


class ObjectiveHistory(db.Model):
    __tablename__ = "objective_histories"

    id: Mapped[int] = mapped_column(primary_key=True)
    objective_id = sa.Column(
        sa.Integer, sa.ForeignKey("objectives.id", ondelete="CASCADE"), nullable=False
    )
    text = sa.Column(sa.Text, nullable=False)
    constraints = sa.Column(sa.Text)
    started_at = timestamp()
    ended_at = timestamp(nullable=True, default=False)

    objective = relationship("Objective", back_populates="history")

    def __repr__(self) -> str:
        return f"<ObjectiveHistory {self.id}>"
