"""Schema parity: what differs between two schemas, found once and said in full.

A :class:`Schema` is what is known of one database's schema at one moment: its catalog
snapshot (``snapshot.py``) and, when a ``pg_dump`` of the server's major version is on
this machine, its normalised ``pg_dump --schema-only`` (``pgdump.py``).
:func:`schema_differences` compares two: the snapshot's findings, or — only when the
snapshot sees none — what pg_dump sees, which would be a gap in the snapshot. Column
order is compared apart (:func:`column_order_differences`): Alembic's ``add_column``
always appends, so migrations and models may legitimately disagree on it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL

from pytest_flask_pgdb.databases.connections import admin_connection
from pytest_flask_pgdb.parity.pgdump import DumpError, diff_dumps, find_pg_dump, start_dump
from pytest_flask_pgdb.parity.snapshot import (
    COLUMN_ORDER,
    GROUPS,
    Difference,
    Snapshot,
    differences,
    take_snapshot,
)

BACKSTOP = (
    "pg_dump --schema-only sees a difference the snapshot did not report; teach "
    "pytest_flask_pgdb/parity/snapshot.py to read it. pg_dump's statements:"
)


class ColumnOrderWarning(UserWarning):
    """Migrations and models order a table's columns differently (reported, not failed)."""


@dataclass(frozen=True)
class Schema:
    snapshot: Snapshot
    dump: list[str] | None  # normalised pg_dump statements; None without a matching pg_dump


def read_schema(url: URL, pg_dump: Path | None) -> Schema:
    """The catalog snapshot, read while ``pg_dump`` runs beside it (nothing changes the
    schema meanwhile: both see the same one)."""
    dump = start_dump(pg_dump, url) if pg_dump else None
    try:
        with admin_connection(url) as connection:
            snapshot = take_snapshot(connection)
    except BaseException:
        if dump is not None:
            with contextlib.suppress(DumpError):
                dump()  # reaped, not left running; the snapshot's error is the one to see
        raise
    return Schema(snapshot, dump() if dump is not None else None)


def matching_pg_dump(url: URL, bindir: Path | None = None) -> Path | None:
    """A ``pg_dump`` of the major version of the server at ``url``, or None."""
    with admin_connection(url) as connection:
        version = int(connection.scalar(text("SHOW server_version_num")))
    return find_pg_dump(version // 10000, bindir)


def schema_differences(
    left: Schema, right: Schema, labels: tuple[str, str] = ("migrations", "models")
) -> list[Difference]:
    """Every difference but column order, one entry each; empty when the schemas match."""
    found = differences(
        left.snapshot.without(COLUMN_ORDER), right.snapshot.without(COLUMN_ORDER), labels
    )
    if found or left.dump is None or right.dump is None:
        return found
    missed = diff_dumps(left.dump, right.dump, labels)
    return [Difference(BACKSTOP + "\n" + "\n".join(missed), "behaviour")] if missed else []


def column_order_differences(
    left: Schema, right: Schema, labels: tuple[str, str] = ("migrations", "models")
) -> list[Difference]:
    """Tables on both sides whose columns come in another order (a table on one side
    only is the schema's difference, not this one's)."""
    mine, theirs = left.snapshot.of_kind(COLUMN_ORDER), right.snapshot.of_kind(COLUMN_ORDER)
    both = mine.objects.keys() & theirs.objects.keys()
    return differences(
        Snapshot({k: v for k, v in mine.objects.items() if k in both}),
        Snapshot({k: v for k, v in theirs.objects.items() if k in both}),
        labels,
    )


def report(title: str, entries: Sequence[str | Difference]) -> str:
    """A failure message: the title, then each entry in full (continuation lines indented);
    differences of a schema grouped by kind, the group that changes behaviour first."""

    def listed(items: Sequence[str | Difference]) -> str:
        return "\n".join("- " + str(item).replace("\n", "\n  ") for item in items)

    if not all(isinstance(entry, Difference) for entry in entries):
        return f"{title}:\n{listed(entries)}"
    sections = [
        f"{group} — {meaning} ({len(mine)}):\n{listed(mine)}"
        for group, meaning in GROUPS.items()
        if (mine := [e for e in entries if isinstance(e, Difference) and e.group == group])
    ]
    return f"{title}:\n" + "\n".join(sections)
