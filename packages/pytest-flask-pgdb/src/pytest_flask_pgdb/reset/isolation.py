"""What a test may have changed beyond rows, and how to say it.

After every test the cleaner compares a cheap **catalog check** with the one taken when
the schema was built: per system catalog, the number of rows describing user objects
(oid >= 16384) and the newest transaction that wrote one. Any DDL inserts, updates or
deletes such rows, so any DDL changes the check; rows, ``setval`` and ``VACUUM`` (an
in-place update) do not. It runs inside the cleanup's one round trip (~0.2 ms).

Only when the check differs is the **listing** read: every user object by name, with
the parts of its definition that matter, so that the report can say ``table junk
created``, ``sequence projects_id_seq altered`` or ``trigger … on agents disabled``.
Objects in other sessions' temporary schemas are left out of the listing (connections
that stay open are checked on their own, see ``SESSION_STATE``): a check that moved
for them alone is not a change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import text
from sqlalchemy.engine import Connection

from pytest_flask_pgdb.databases.guard import TEST_NAME

FIRST_USER_OID = 16384  # PostgreSQL's FirstNormalObjectId: objects made after initdb


def _count_and_newest(catalog: str, oid_column: str) -> str:
    return (
        f"(SELECT count(*) || ':' || coalesce(max(xmin::text::bigint), 0) FROM {catalog} "
        f"WHERE {oid_column} >= {FIRST_USER_OID})"
    )


# Settings stored for this database or for a role everywhere, through the catalog's
# index: the whole (shared) catalog can hold many dead rows where autovacuum is off.
_SETTINGS_CHECK = (
    "(SELECT count(*) || ':' || coalesce(max(xmin::text::bigint), 0) FROM pg_db_role_setting "
    "WHERE setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database())))"
)

# The server's databases and roles: a test that creates one leaves it behind. Test
# databases are left out: other runs (and workers) create and drop them all the time.
_NOT_A_TEST_DATABASE = f"datname !~ '{TEST_NAME.pattern}'"  # the guard's rule (guard.py)
_SERVER_CHECK = (
    "(SELECT count(*) || ':' || coalesce(max(oid::text::bigint), 0) FROM pg_database "
    f"WHERE {_NOT_A_TEST_DATABASE}), "
    "(SELECT count(*) || ':' || max(oid::text::bigint) FROM pg_roles)"
)

# The database's own row (owner, template flag, connection limit: its xmin).
_DATABASE_ROW_CHECK = "(SELECT xmin::text FROM pg_database WHERE datname = current_database())"
# ... and its comment, which holds the run's mark (pg_shdescription: no pg_database row
# changes when a test rewrites it).
_DATABASE_CHECK = (
    "(SELECT xmin::text || ':' || md5(coalesce(shobj_description(oid, 'pg_database'), '')) "
    "FROM pg_database WHERE datname = current_database())"
)


def _catalog_check(database_check: str, *server_checks: str) -> str:
    return (
        "concat_ws(',', "
        + ", ".join(
            [
                _count_and_newest(catalog, column)
                for catalog, column in (
                    ("pg_class", "oid"),
                    ("pg_attribute", "attrelid"),
                    ("pg_attrdef", "oid"),
                    ("pg_constraint", "oid"),
                    ("pg_index", "indexrelid"),
                    ("pg_trigger", "oid"),
                    ("pg_sequence", "seqrelid"),
                    ("pg_proc", "oid"),
                    ("pg_type", "oid"),
                    ("pg_enum", "oid"),
                    ("pg_rewrite", "oid"),
                    ("pg_namespace", "oid"),
                    ("pg_extension", "oid"),
                    ("pg_policy", "oid"),
                    ("pg_description", "objoid"),
                )
            ]
            + [_SETTINGS_CHECK, *server_checks, database_check]
        )
        + ")"
    )


# An SQL expression (text); the cleaner embeds it in its plpgsql function.
CATALOG_CHECK = _catalog_check(_DATABASE_CHECK, _SERVER_CHECK)
# The same but the mark and the server (whose databases come and go between runs): what
# a kept database records of itself in its (new) mark.
KEPT_CHECK = _catalog_check(_DATABASE_ROW_CHECK)

# Where we may (a superuser), an event trigger counts DDL statements instead: reading
# that count is one probe, not fifteen. ENABLE ALWAYS: session_replication_role = replica
# silences ordinary event triggers. Event triggers never fire for shared objects
# (databases, roles) nor for event triggers themselves: those catalogs are probed still.
DDL_COUNTER_SCHEMA = "pytest_flask_pgdb"
DDL_COUNTER_EVENT_TRIGGER = "pgdb_count_ddl"
DDL_COUNTER_SETUP = f"""
CREATE SCHEMA IF NOT EXISTS {DDL_COUNTER_SCHEMA};
CREATE SEQUENCE IF NOT EXISTS {DDL_COUNTER_SCHEMA}.ddl_statements;
CREATE OR REPLACE FUNCTION {DDL_COUNTER_SCHEMA}.count_ddl() RETURNS event_trigger
LANGUAGE plpgsql AS $count$
BEGIN
    PERFORM nextval('{DDL_COUNTER_SCHEMA}.ddl_statements');
END
$count$;
DROP EVENT TRIGGER IF EXISTS {DDL_COUNTER_EVENT_TRIGGER};
CREATE EVENT TRIGGER {DDL_COUNTER_EVENT_TRIGGER} ON ddl_command_end
    EXECUTE FUNCTION {DDL_COUNTER_SCHEMA}.count_ddl();
ALTER EVENT TRIGGER {DDL_COUNTER_EVENT_TRIGGER} ENABLE ALWAYS;
"""
COUNTED_CHECK = (
    "concat_ws(',', "
    f"pg_sequence_last_value('{DDL_COUNTER_SCHEMA}.ddl_statements'::regclass), "
    "(SELECT count(*) || ':' || coalesce(max(xmin::text::bigint), 0) FROM pg_event_trigger), "
    f"{_SETTINGS_CHECK}, "
    f"{_SERVER_CHECK}, "
    f"{_DATABASE_CHECK})"
)

# Every user object, by name. Temporary objects of other sessions are not listed.
_LISTING = f"""
WITH rel AS (
    SELECT c.oid, c.relkind, c.relpersistence, c.reloptions, c.relacl, c.relrowsecurity,
           format('%I.%I', n.nspname, c.relname) AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid >= 16384 AND c.relpersistence <> 't' AND n.nspname <> 'pg_toast'
)
SELECT 'table', name, concat_ws(' ', relkind, relpersistence, reloptions, relacl,
       CASE WHEN relrowsecurity THEN 'row-security' END)
FROM rel WHERE relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
UNION ALL
SELECT 'index', name, pg_get_indexdef(oid) FROM rel WHERE relkind IN ('i', 'I')
UNION ALL
SELECT 'sequence', rel.name,
       format('%s start %s increment %s min %s max %s cache %s%s', format_type(s.seqtypid, NULL),
              s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache,
              CASE WHEN s.seqcycle THEN ' cycle' ELSE '' END)
FROM rel JOIN pg_sequence s ON s.seqrelid = rel.oid
UNION ALL
SELECT 'column', rel.name || '.' || quote_ident(a.attname),
       concat_ws(' ', format_type(a.atttypid, a.atttypmod),
                 CASE WHEN a.attnotnull THEN 'not null' END,
                 'default ' || pg_get_expr(d.adbin, d.adrelid),
                 nullif(a.attidentity, ''), nullif(a.attgenerated, ''),
                 CASE WHEN a.attcollation <> t.typcollation THEN 'collate ' || a.attcollation END)
FROM rel JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE rel.relkind IN ('r', 'p', 'v', 'm', 'f')
UNION ALL
SELECT 'constraint', rel.name || '.' || quote_ident(con.conname),
       pg_get_constraintdef(con.oid) || CASE WHEN con.convalidated THEN '' ELSE ' not valid' END
FROM pg_constraint con JOIN rel ON rel.oid = con.conrelid
UNION ALL
SELECT 'trigger',
       -- a constraint's internal triggers are named by oid: name them by the constraint
       CASE WHEN tg.tgisinternal AND con.oid IS NOT NULL
            THEN format('%s of %s', tg.tgfoid::regproc, quote_ident(con.conname))
            ELSE quote_ident(tg.tgname) END || ' on ' || rel.name,
       CASE tg.tgenabled WHEN 'D' THEN 'disabled' WHEN 'O' THEN 'enabled'
            WHEN 'R' THEN 'enabled on replica only' ELSE 'enabled always' END
       || ' ' || tg.tgfoid::regprocedure::text
FROM pg_trigger tg JOIN rel ON rel.oid = tg.tgrelid
LEFT JOIN pg_constraint con ON con.oid = tg.tgconstraint
UNION ALL
SELECT 'rule', quote_ident(r.rulename) || ' on ' || rel.name, md5(r.ev_action::text)
FROM pg_rewrite r JOIN rel ON rel.oid = r.ev_class
UNION ALL
SELECT 'policy', quote_ident(p.polname) || ' on ' || rel.name, md5(p.polqual::text)
FROM pg_policy p JOIN rel ON rel.oid = p.polrelid
UNION ALL
SELECT 'function', p.oid::regprocedure::text, md5(p.prosrc)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.oid >= 16384 AND n.nspname !~ '^pg_temp'
UNION ALL
SELECT 'type', format('%I.%I', n.nspname, t.typname),
       t.typtype::text || coalesce(' ' || (SELECT string_agg(e.enumlabel, ','
                                                             ORDER BY e.enumsortorder)
                                           FROM pg_enum e WHERE e.enumtypid = t.oid), '')
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.oid >= 16384 AND t.typtype IN ('e', 'd', 'r', 'm', 'b') AND n.nspname !~ '^pg_temp'
UNION ALL
SELECT 'schema', quote_ident(nspname), ''
FROM pg_namespace WHERE oid >= 16384 AND nspname !~ '^pg_(toast_)?temp_'
UNION ALL
SELECT 'extension', quote_ident(extname), extversion FROM pg_extension WHERE oid >= 16384
UNION ALL
SELECT 'comment', classoid::regclass::text || ' ' || objoid || '.' || objsubid, description
FROM pg_description WHERE objoid >= 16384
UNION ALL
SELECT 'setting', CASE WHEN s.setdatabase = 0 THEN 'role ' ELSE 'database ' END
       || CASE WHEN s.setrole = 0 THEN 'all roles' ELSE s.setrole::regrole::text END,
       array_to_string(s.setconfig, ', ')
FROM pg_db_role_setting s
WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
   OR (s.setdatabase = 0 AND s.setrole = (SELECT oid FROM pg_roles WHERE rolname = current_user))
UNION ALL
SELECT 'database', current_database(),
       format('owner %s, connections allowed %s, limit %s, template %s, comment %s',
              datdba::regrole, datallowconn, datconnlimit, datistemplate,
              shobj_description(oid, 'pg_database'))
FROM pg_database WHERE datname = current_database()
UNION ALL
SELECT 'server-database', datname, '' FROM pg_database
WHERE datname <> current_database() AND {_NOT_A_TEST_DATABASE}
UNION ALL
SELECT 'server-role', rolname, '' FROM pg_roles WHERE oid >= 16384
"""


# The listing's keys of what is outside the database: the current role's settings in
# every database (ALTER ROLE … SET), the server's databases and roles.
OUTSIDE = ("setting role ", "server-database ", "server-role ")


def take_listing(connection: Connection) -> dict[str, str]:
    """``{"<kind> <name>": definition}`` for every user object of the database, and what
    is outside it (``OUTSIDE``). Databases with test names are left out: test runs (and
    the tests of test machinery) make and drop them all the time, under the guard's
    rules (``guard.py``)."""
    rows: Sequence[tuple[str, str, str | None]] = connection.execute(text(_LISTING)).all()
    return {f"{kind} {name}": definition or "" for kind, name, definition in rows}


_VERBS = {"trigger": ("added", "removed")}


def describe_changes(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """What differs, one short phrase each: ``table public.junk created``.

    The objects of a table that was created or dropped (its columns, constraints,
    indexes, triggers, row type) are counted in one phrase after it, not listed: a test
    that dropped every table (``db.drop_all()``) is told so in a line, not in 150.
    """
    tables = {
        key.split(" ", 1)[1] for key in before.keys() ^ after.keys() if key.startswith("table ")
    }
    # Their columns' defaults name the sequences that serve them: nextval('x_id_seq'...).
    defaults = " ".join(
        definition
        for key, definition in [*before.items(), *after.items()]
        if key.startswith(tuple(f"column {table}." for table in tables))
    )
    changes, folded = [], 0
    for key in sorted(before.keys() | after.keys()):
        kind = key.split(" ", 1)[0]
        created, dropped = _VERBS.get(kind, ("created", "dropped"))
        if key in before and key in after and before[key] == after[key]:
            continue
        definition = before.get(key, after.get(key, ""))
        serves_them = kind == "sequence" and f"{key.split('.')[-1]}'::regclass" in defaults
        if serves_them or (kind != "table" and _belongs_to(key, definition, tables)):
            folded += 1
        elif key not in before:
            changes.append(f"{key} {created}")
        elif key not in after:
            changes.append(f"{key} {dropped}")
        else:
            changes.append(f"{key} {_altered(kind, before[key], after[key])}")
    if folded:
        changes.append(f"{folded} more change(s) to the objects of those tables")
    return changes


def _belongs_to(key: str, definition: str, tables: set[str]) -> bool:
    """Is the object ``key`` a part of one of ``tables`` (created or dropped with it)?"""
    for table in tables:
        schema, _, name = table.partition(".")
        row_type = f"type {schema}.{name.strip(chr(34))}"
        if (
            key.startswith((f"column {table}.", f"constraint {table}."))
            or key.endswith(f" on {table}")
            or f" ON {table} " in definition
            or key in (row_type, f"type {schema}._{name.strip(chr(34))}")
        ):
            return True
    return False


def _altered(kind: str, was: str, now: str) -> str:
    if kind == "trigger":
        return now.split(" ", 1)[0] if now.startswith(("disabled", "enabled")) else "altered"
    return f"altered ({_short(was)} -> {_short(now)})"


def _short(definition: str, limit: int = 90) -> str:
    return definition if len(definition) <= limit else definition[: limit - 1] + "…"


# Session state a test can leave on a connection that stays open (the app's pool).
SESSION_STATE = """
SELECT 'SET ' || name || ' = ' || setting FROM pg_settings WHERE source = 'session'
UNION ALL
SELECT 'prepared statement ' || name FROM pg_prepared_statements
UNION ALL
SELECT 'advisory lock ' || classid || ':' || objid FROM pg_locks
WHERE locktype = 'advisory' AND pid = pg_backend_pid()
UNION ALL
SELECT 'temporary table ' || relname FROM pg_class
WHERE relnamespace = pg_my_temp_schema() AND relkind IN ('r', 'p', 'v', 'S')
UNION ALL
SELECT 'LISTEN ' || channel FROM pg_listening_channels() AS channel
UNION ALL
SELECT 'SET ROLE ' || current_user WHERE current_user <> session_user
UNION ALL
SELECT 'SET SESSION AUTHORIZATION ' || session_user  -- (pg_settings shows neither)
"""
