"""Project: a repository on disk that agents work in."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db
from ._base import timestamp

_NON_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    """Lowercase; each run of non-alphanumerics becomes one ``-``; trimmed."""
    return _NON_ALPHANUMERIC.sub("-", name.lower()).strip("-")


class Project(db.Model):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name = sa.Column(sa.String(255), nullable=False)
    slug = sa.Column(sa.String(255), nullable=False, unique=True)
    path = sa.Column(sa.Text, nullable=False, unique=True)
    github_repo = sa.Column(sa.String(255))
    current_branch = sa.Column(sa.String(255))
    description = sa.Column(sa.Text)
    created_at = timestamp()

    agents = relationship(
        "Agent",
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
