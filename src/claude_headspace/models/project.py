"""Project: a repository on disk that agents work in."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Model
from ._base import timestamp

if TYPE_CHECKING:
    from .agent import Agent

_NON_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    """Lowercase; each run of non-alphanumerics becomes one ``-``; trimmed."""
    return _NON_ALPHANUMERIC.sub("-", name.lower()).strip("-")


class Project(Model):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    slug: Mapped[str] = mapped_column(sa.String(255), unique=True)
    path: Mapped[str] = mapped_column(sa.Text, unique=True)
    github_repo: Mapped[str | None] = mapped_column(sa.String(255))
    current_branch: Mapped[str | None] = mapped_column(sa.String(255))
    description: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = timestamp()

    agents: Mapped[list[Agent]] = relationship(
        back_populates="project",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Agent.id",
    )

    def __init__(self, **kwargs: Any) -> None:
        if not kwargs.get("slug") and kwargs.get("name"):
            kwargs["slug"] = slugify(kwargs["name"])
        super().__init__(**kwargs)

    def __repr__(self) -> str:
        return f"<Project {self.id} {self.slug!r}>"
