"""Column helpers shared by the models."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import MappedColumn, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def timestamp(*, nullable: bool = False, default: bool = True) -> MappedColumn[Any]:
    """A ``timestamptz`` column defaulting to now (UTC) in Python and in the server."""
    if not default:
        return mapped_column(sa.DateTime(timezone=True), nullable=nullable)
    return mapped_column(
        sa.DateTime(timezone=True),
        nullable=nullable,
        default=utcnow,
        server_default=sa.func.now(),
    )


def pg_enum(enum_class: type[enum.Enum], name: str) -> sa.Enum:
    """A native PostgreSQL enum that stores the members' lowercase *values*."""
    return sa.Enum(
        enum_class,
        name=name,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
