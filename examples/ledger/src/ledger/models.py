"""Ledgers hold accounts (a tree), accounts hold entries; an account's opening entry
is one of its own entries: a foreign-key cycle, both ways ON DELETE RESTRICT."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BigInteger, DateTime, ForeignKey, MetaData, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

db = SQLAlchemy(
    metadata=MetaData(
        naming_convention={
            "pk": "pk_%(table_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ix": "ix_%(table_name)s_%(column_0_name)s",
        }
    )
)


class Ledger(db.Model):
    __tablename__ = "ledgers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    accounts: Mapped[list[Account]] = relationship(back_populates="ledger")


class Account(db.Model):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    ledger_id: Mapped[int] = mapped_column(ForeignKey("ledgers.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    code: Mapped[str] = mapped_column(String(20))
    # The cycle: created after both tables exist (use_alter), never deferrable.
    opening_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("entries.id", ondelete="RESTRICT", use_alter=True)
    )
    ledger: Mapped[Ledger] = relationship(back_populates="accounts")
    entries: Mapped[list[Entry]] = relationship(
        back_populates="account", foreign_keys="Entry.account_id"
    )
    children: Mapped[list[Account]] = relationship()


class Entry(db.Model):
    __tablename__ = "entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    posted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=lambda: datetime.now(UTC), server_default=func.now()
    )
    account: Mapped[Account] = relationship(back_populates="entries", foreign_keys=[account_id])
