"""A canonical description of one database's schema, read from the PostgreSQL catalogs.

Two databases built different ways (migrations vs ``create_all``) are compared by
their snapshots; :func:`diff_snapshots` says what differs in review-comment lines:

    turns.intent: enum turnintent labels differ — migrations: [...], models: [...]

Column order does not matter; ``alembic_version`` is left out. Definitions come from
``pg_get_constraintdef`` / ``pg_get_indexdef``, so both sides are rendered by the
server the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

IGNORED_TABLES = ("alembic_version",)

_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') AND a.attnum > 0
  AND NOT a.attisdropped AND c.relname <> ALL(:ignored)
"""

_CONSTRAINTS = """
SELECT c.relname, con.conname, pg_get_constraintdef(con.oid, true)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = :schema AND c.relname <> ALL(:ignored)
"""

# Indexes that back a constraint (primary key, unique) are described by the constraint.
_INDEXES = """
SELECT t.relname, i.relname, pg_get_indexdef(i.oid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = :schema AND t.relname <> ALL(:ignored)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = x.indexrelid
                  AND con.contype IN ('p', 'u', 'x'))
"""

_ENUMS = """
SELECT t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
FROM pg_type t
JOIN pg_enum e ON e.enumtypid = t.oid
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = :schema
GROUP BY t.typname
"""

_SEQUENCES = """
SELECT s.relname, format_type(q.seqtypid, NULL), q.seqstart, q.seqincrement, q.seqmin,
       q.seqmax, q.seqcycle,
       (SELECT t.relname || '.' || a.attname FROM pg_depend d
        JOIN pg_class t ON t.oid = d.refobjid
        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
FROM pg_sequence q
JOIN pg_class s ON s.oid = q.seqrelid
JOIN pg_namespace n ON n.oid = s.relnamespace
WHERE n.nspname = :schema
"""


@dataclass(frozen=True)
class Column:
    type: str
    nullable: bool
    default: str | None
    identity: str  # '' | 'a' (always) | 'd' (by default)
    generated: str


@dataclass
class Table:
    columns: dict[str, Column] = field(default_factory=dict)
    constraints: dict[str, str] = field(default_factory=dict)
    indexes: dict[str, str] = field(default_factory=dict)


@dataclass
class Snapshot:
    tables: dict[str, Table] = field(default_factory=dict)
    enums: dict[str, list[str]] = field(default_factory=dict)
    sequences: dict[str, dict[str, Any]] = field(default_factory=dict)

    def is_empty(self) -> bool:
        """Nothing but (ignored) alembic_version: what a full downgrade must leave."""
        return not (self.tables or self.enums or self.sequences)

    def index_count(self) -> int:
        return sum(len(t.indexes) for t in self.tables.values())


def take_snapshot(connection: Connection, schema: str = "public") -> Snapshot:
    """Read the schema of the database ``connection`` is on."""
    params = {"schema": schema, "ignored": list(IGNORED_TABLES)}
    snap = Snapshot()

    def table(name: str) -> Table:
        return snap.tables.setdefault(name, Table())

    for name, column, type_, notnull, default, identity, generated in connection.execute(
        text(_COLUMNS), params
    ):
        table(name).columns[column] = Column(type_, not notnull, default, identity, generated)
    for name, constraint, definition in connection.execute(text(_CONSTRAINTS), params):
        table(name).constraints[constraint] = definition
    for name, index, definition in connection.execute(text(_INDEXES), params):
        table(name).indexes[index] = definition
    for name, labels in connection.execute(text(_ENUMS), {"schema": schema}):
        snap.enums[name] = list(labels)
    for name, type_, start, step, low, high, cycle, owner in connection.execute(
        text(_SEQUENCES), {"schema": schema}
    ):
        if owner and owner.split(".")[0] in IGNORED_TABLES:
            continue
        snap.sequences[name] = {
            "type": type_,
            "start": start,
            "increment": step,
            "min": low,
            "max": high,
            "cycle": cycle,
            "owned by": owner,
        }
    return snap


def diff_snapshots(
    left: Snapshot, right: Snapshot, labels: tuple[str, str] = ("migrations", "models")
) -> list[str]:
    """Every difference, one readable line each, sorted; empty when the schemas match."""
    a, b = labels
    lines: list[str] = []

    def differs(subject: str, what: str, x: object, y: object) -> None:
        lines.append(f"{subject} {what} differs — {a}: {x}, {b}: {y}")

    def only(subject: str, kind: str, name: str, side: str, detail: str = "") -> None:
        lines.append(f"{subject}: {kind} {name} only in {side}{': ' + detail if detail else ''}")

    for name in sorted(left.tables.keys() | right.tables.keys()):
        if name not in right.tables:
            lines.append(f"table {name} only in {a}")
            continue
        if name not in left.tables:
            lines.append(f"table {name} only in {b}")
            continue
        lt, rt = left.tables[name], right.tables[name]
        for col in sorted(lt.columns.keys() | rt.columns.keys()):
            subject = f"{name}.{col}"
            if col not in rt.columns:
                lines.append(f"{subject}: column only in {a} ({lt.columns[col].type})")
            elif col not in lt.columns:
                lines.append(f"{subject}: column only in {b} ({rt.columns[col].type})")
            else:
                lc, rc = lt.columns[col], rt.columns[col]
                if lc.type != rc.type:
                    differs(f"{subject}:", "type", lc.type, rc.type)
                if lc.nullable != rc.nullable:
                    differs(f"{subject}:", "nullability", _null(lc.nullable), _null(rc.nullable))
                if lc.default != rc.default:
                    differs(f"{subject}:", "default", lc.default or "none", rc.default or "none")
                if (lc.identity, lc.generated) != (rc.identity, rc.generated):
                    differs(
                        f"{subject}:",
                        "identity/generated",
                        (lc.identity, lc.generated),
                        (rc.identity, rc.generated),
                    )
        for kind, lmap, rmap in (
            ("constraint", lt.constraints, rt.constraints),
            ("index", lt.indexes, rt.indexes),
        ):
            for item in sorted(lmap.keys() | rmap.keys()):
                if item not in rmap:
                    only(name, kind, item, a, lmap[item])
                elif item not in lmap:
                    only(name, kind, item, b, rmap[item])
                elif lmap[item] != rmap[item]:
                    differs(f"{name}: {kind} {item}", "definition", lmap[item], rmap[item])
    for enum in sorted(left.enums.keys() | right.enums.keys()):
        users = _columns_of_type(left, enum) or _columns_of_type(right, enum)
        subject = f"{', '.join(users)}: enum {enum}" if users else f"enum {enum}"
        if enum not in right.enums:
            lines.append(f"{subject} only in {a}")
        elif enum not in left.enums:
            lines.append(f"{subject} only in {b}")
        elif left.enums[enum] != right.enums[enum]:
            lines.append(
                f"{subject} labels differ — {a}: {left.enums[enum]}, {b}: {right.enums[enum]}"
            )
    for seq in sorted(left.sequences.keys() | right.sequences.keys()):
        if seq not in right.sequences:
            lines.append(f"sequence {seq} only in {a}")
        elif seq not in left.sequences:
            lines.append(f"sequence {seq} only in {b}")
        elif left.sequences[seq] != right.sequences[seq]:
            differs(f"sequence {seq}", "definition", left.sequences[seq], right.sequences[seq])
    return lines


def _null(nullable: bool) -> str:
    return "NULL" if nullable else "NOT NULL"


def _columns_of_type(snap: Snapshot, type_name: str) -> list[str]:
    return sorted(
        f"{table}.{column}"
        for table, t in snap.tables.items()
        for column, c in t.columns.items()
        if c.type == type_name
    )
