"""The parity checks can fail: each planted drift is reported as exactly one entry.

Every drift is planted by hand in a transaction on the models database and rolled
back, on probe objects the transaction creates first (``PROBE``): the snapshot before
planting stands for what the migrations build, the one after for what the models say.
So these tests see only their own planting, and no change to the app's schema (a new
index, a changed partial index) can break them.
"""

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, text

from claude_headspace.database import db
from pytest_flask_pgdb import parity
from pytest_flask_pgdb.databases.connections import admin_connection, admin_engine
from pytest_flask_pgdb.parity.migrations import autogenerate_diff, describe_autogenerate
from pytest_flask_pgdb.parity.pgdump import dump_schema, normalise
from pytest_flask_pgdb.parity.snapshot import (
    COLUMN_ORDER,
    diff_snapshots,
    differences,
    take_snapshot,
)

PROBE = """
CREATE TYPE probe_state AS ENUM ('idle', 'done');
CREATE TABLE probe (
    id serial CONSTRAINT pk_probe PRIMARY KEY,
    name varchar(255) NOT NULL,
    branch varchar(255),
    repo varchar(255),
    kind varchar(50),
    state probe_state,
    enabled boolean NOT NULL DEFAULT true,
    started_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    CONSTRAINT uq_probe_name UNIQUE (name),
    CONSTRAINT ck_probe_completed_after_started
        CHECK (completed_at IS NULL OR completed_at >= started_at)
);
CREATE INDEX ix_probe_state_started_at ON probe (state, started_at);
CREATE UNIQUE INDEX uq_probe_repo ON probe (repo) WHERE repo IS NOT NULL;
CREATE INDEX ix_probe_lower_name ON probe (lower(name));
CREATE TABLE probe_event (
    id serial CONSTRAINT pk_probe_event PRIMARY KEY,
    probe_id integer CONSTRAINT fk_probe_event_probe_id_probe
        REFERENCES probe (id) ON DELETE SET NULL,
    payload jsonb
);
CREATE TABLE probe_log (id bigint, line text);
"""

DRIFTS = {
    "column type": (
        "ALTER TABLE probe ALTER COLUMN branch TYPE text",
        "column public.probe.branch: type — migrations: character varying(255), models: text",
    ),
    "nullability": (
        "ALTER TABLE probe ALTER COLUMN repo SET NOT NULL",
        "column public.probe.repo: nullability — migrations: NULL, models: NOT NULL",
    ),
    "server default": (
        "ALTER TABLE probe ALTER COLUMN enabled SET DEFAULT false",
        "column public.probe.enabled: default — migrations: true, models: false",
    ),
    "collation": (
        'ALTER TABLE probe ALTER COLUMN kind TYPE varchar(50) COLLATE "POSIX"',
        'column public.probe.kind: collation — migrations: (none), models: pg_catalog."POSIX"',
    ),
    "column statistics target": (
        "ALTER TABLE probe ALTER COLUMN kind SET STATISTICS 500",
        "column public.probe.kind: statistics — migrations: (none), models: 500",
    ),
    "statistics target of an expression index column": (
        "ALTER INDEX ix_probe_lower_name ALTER COLUMN 1 SET STATISTICS 300",
        "index public.ix_probe_lower_name: statistics — migrations: (none), models: column 1: 300",
    ),
    "column comment": (
        "COMMENT ON COLUMN probe_event.payload IS 'the hook''s body'",
        "column public.probe_event.payload: comment — migrations: (none), models: the hook's body",
    ),
    "extra column": (
        "ALTER TABLE probe ADD COLUMN notes text",
        "column public.probe.notes only in models: type text; nullability NULL; default none",
    ),
    "UNLOGGED table": (
        "ALTER TABLE probe_log SET UNLOGGED",
        "table public.probe_log: persistence — migrations: (none), models: UNLOGGED",
    ),
    "storage option": (
        "ALTER TABLE probe_log SET (fillfactor = 70)",
        "table public.probe_log: options — migrations: (none), models: fillfactor=70",
    ),
    "table comment": (
        "COMMENT ON TABLE probe_log IS 'one line'",
        "table public.probe_log: comment — migrations: (none), models: one line",
    ),
    "grant": (
        "GRANT SELECT ON probe_log TO PUBLIC",
        "table public.probe_log: grants — migrations: (none), models: "
        "{postgres=arwdDxt/postgres,=r/postgres}",
    ),
    "sequence option": (
        "ALTER SEQUENCE probe_event_id_seq CACHE 7",
        "sequence public.probe_event_id_seq: cache — migrations: 1, models: 7",
    ),
    "missing index": (
        "DROP INDEX ix_probe_state_started_at",
        "index public.ix_probe_state_started_at only in migrations: definition CREATE INDEX "
        "ix_probe_state_started_at ON public.probe USING btree (state, started_at)",
    ),
    "index column order": (
        "DROP INDEX ix_probe_state_started_at; "
        "CREATE INDEX ix_probe_state_started_at ON probe (started_at, state)",
        "index public.ix_probe_state_started_at: definition\n"
        "    migrations: CREATE INDEX ix_probe_state_started_at ON public.probe USING btree "
        "(state, started_at)\n"
        "    models:     CREATE INDEX ix_probe_state_started_at ON public.probe USING btree "
        "(started_at, state)",
    ),
    "partial index predicate": (
        "DROP INDEX uq_probe_repo; CREATE UNIQUE INDEX uq_probe_repo ON probe (repo)",
        "index public.uq_probe_repo: definition\n"
        "    migrations: CREATE UNIQUE INDEX uq_probe_repo ON public.probe USING btree (repo) "
        "WHERE (repo IS NOT NULL)\n"
        "    models:     CREATE UNIQUE INDEX uq_probe_repo ON public.probe USING btree (repo)",
    ),
    "foreign key ON DELETE": (
        "ALTER TABLE probe_event DROP CONSTRAINT fk_probe_event_probe_id_probe; "
        "ALTER TABLE probe_event ADD CONSTRAINT fk_probe_event_probe_id_probe "
        "FOREIGN KEY (probe_id) REFERENCES probe (id) ON DELETE CASCADE",
        "constraint public.probe_event.fk_probe_event_probe_id_probe: definition\n"
        "    migrations: FOREIGN KEY (probe_id) REFERENCES probe(id) ON DELETE SET NULL\n"
        "    models:     FOREIGN KEY (probe_id) REFERENCES probe(id) ON DELETE CASCADE",
    ),
    "deferrable foreign key": (
        "ALTER TABLE probe_event ALTER CONSTRAINT fk_probe_event_probe_id_probe "
        "DEFERRABLE INITIALLY DEFERRED",
        "constraint public.probe_event.fk_probe_event_probe_id_probe: definition\n"
        "    migrations: FOREIGN KEY (probe_id) REFERENCES probe(id) ON DELETE SET NULL\n"
        "    models:     FOREIGN KEY (probe_id) REFERENCES probe(id) ON DELETE SET NULL "
        "DEFERRABLE INITIALLY DEFERRED",
    ),
    "CHECK constraint": (
        "ALTER TABLE probe DROP CONSTRAINT ck_probe_completed_after_started; "
        "ALTER TABLE probe ADD CONSTRAINT ck_probe_completed_after_started "
        "CHECK (completed_at IS NULL OR completed_at > started_at)",
        "constraint public.probe.ck_probe_completed_after_started: definition\n"
        "    migrations: CHECK (completed_at IS NULL OR completed_at >= started_at)\n"
        "    models:     CHECK (completed_at IS NULL OR completed_at > started_at)",
    ),
    "unique constraint": (
        "ALTER TABLE probe DROP CONSTRAINT uq_probe_name",
        "constraint public.probe.uq_probe_name only in migrations: definition UNIQUE (name)",
    ),
    "enum label": (
        "ALTER TYPE probe_state ADD VALUE 'paused'",
        "type public.probe_state: labels — migrations: 'idle', 'done', "
        "models: 'idle', 'done', 'paused'",
    ),
    "domain": (
        "CREATE DOMAIN positive AS integer CHECK (VALUE > 0)",
        "type public.positive only in models: kind domain; base type integer; "
        "constraints positive_check CHECK (VALUE > 0)",
    ),
    "trigger, disabled": (
        "CREATE TRIGGER skip_noop BEFORE UPDATE ON probe_log FOR EACH ROW "
        "EXECUTE FUNCTION suppress_redundant_updates_trigger(); "
        "ALTER TABLE probe_log DISABLE TRIGGER skip_noop",
        "trigger public.probe_log.skip_noop only in models: definition CREATE TRIGGER "
        "skip_noop BEFORE UPDATE ON probe_log FOR EACH ROW EXECUTE FUNCTION "
        "suppress_redundant_updates_trigger(); enabled DISABLED",
    ),
    "view": (
        "CREATE VIEW live_probes AS SELECT id, name FROM probe WHERE completed_at IS NULL",
        "view public.live_probes only in models: definition\n"
        "     SELECT probe.id,\n"
        "        probe.name\n"
        "       FROM probe\n"
        "      WHERE probe.completed_at IS NULL;",
    ),
    "materialized view": (
        "CREATE MATERIALIZED VIEW probe_counts AS SELECT probe_id, count(*) FROM probe_event "
        "GROUP BY probe_id WITH NO DATA",
        "materialized view public.probe_counts only in models: populated WITH NO DATA\n"
        "definition\n"
        "     SELECT probe_event.probe_id,\n"
        "        count(*) AS count\n"
        "       FROM probe_event\n"
        "      GROUP BY probe_event.probe_id;",
    ),
    "function": (
        "CREATE FUNCTION event_count(probe integer) RETURNS bigint LANGUAGE sql STABLE "
        "AS 'SELECT count(*) FROM probe_event WHERE probe_id = probe'",
        "function public.event_count(probe integer) only in models: definition\n"
        "    CREATE OR REPLACE FUNCTION public.event_count(probe integer)\n"
        "     RETURNS bigint\n"
        "     LANGUAGE sql\n"
        "     STABLE\n"
        "    AS $function$SELECT count(*) FROM probe_event WHERE probe_id = probe$function$",
    ),
    "row level security": (
        "ALTER TABLE probe_log ENABLE ROW LEVEL SECURITY",
        "table public.probe_log: row level security — migrations: (none), models: enabled",
    ),
    "policy": (
        "CREATE POLICY own ON probe FOR SELECT USING (repo IS NOT NULL)",
        "policy public.probe.own only in models: command SELECT; permissive PERMISSIVE; "
        "roles PUBLIC; using (repo IS NOT NULL)",
    ),
    "publication": (
        "CREATE PUBLICATION probe_feed FOR TABLE probe_log WITH (publish = 'insert')",
        "publication probe_feed only in models: publishes insert; tables public.probe_log",
    ),
    "publication's column list": (
        "CREATE PUBLICATION probe_feed FOR TABLE probe_log (line)",
        "publication probe_feed only in models: publishes insert, update, delete, truncate; "
        "tables public.probe_log (line)",
    ),
    "a collation of its own": (
        "CREATE COLLATION probe_c (provider = libc, locale = 'C')",
        "collation public.probe_c only in models: provider libc; locale C / C",
    ),
    "text search configuration": (
        "CREATE TEXT SEARCH CONFIGURATION probe_cfg (PARSER = default); "
        "ALTER TEXT SEARCH CONFIGURATION probe_cfg ADD MAPPING FOR asciiword WITH simple",
        'text search configuration public.probe_cfg only in models: parser pg_catalog."default"; '
        "mappings asciiword simple",
    ),
    "text search dictionary": (
        "CREATE TEXT SEARCH DICTIONARY probe_dict (TEMPLATE = simple, STOPWORDS = english)",
        "text search dictionary public.probe_dict only in models: template pg_catalog.simple; "
        "options stopwords = 'english'",
    ),
    "operator": (
        "CREATE OPERATOR === (LEFTARG = integer, RIGHTARG = integer, FUNCTION = int4eq)",
        "operator public.===(integer, integer) only in models: function int4eq(integer,integer); "
        "result boolean",
    ),
    "operator class": (
        "CREATE OPERATOR CLASS probe_ops FOR TYPE integer USING btree AS OPERATOR 3 =, "
        "FUNCTION 1 btint4cmp(integer, integer)",
        "operator class public.probe_ops USING btree only in models: type integer; family "
        "public.probe_ops; operators 3 =(integer,integer); functions 1 btint4cmp(integer,integer)",
    ),
    "cast": (
        "CREATE FUNCTION probe_state_text(probe_state) RETURNS text LANGUAGE sql IMMUTABLE "
        "AS 'SELECT $1::text'; "
        "CREATE CAST (probe_state AS text) WITH FUNCTION probe_state_text(probe_state) "
        "AS ASSIGNMENT",
        None,  # and the function it uses: two entries, the cast one of them
    ),
    "foreign server": (
        "CREATE FOREIGN DATA WRAPPER probe_fdw; "
        "CREATE SERVER probe_remote FOREIGN DATA WRAPPER probe_fdw OPTIONS (host 'x')",
        None,
    ),
    "extension": (
        "COMMENT ON EXTENSION plpgsql IS 'changed'",
        "extension plpgsql: comment — migrations: PL/pgSQL procedural language, models: changed",
    ),
}


@pytest.fixture
def models_connection(pgdb_models_database):
    """A transaction on the models database holding the probe objects, always rolled back."""
    engine = admin_engine(pgdb_models_database.url).execution_options(
        isolation_level="READ COMMITTED"
    )
    connection = engine.connect()
    transaction = connection.begin()
    connection.exec_driver_sql(PROBE)
    yield connection
    transaction.rollback()
    connection.close()
    engine.dispose()


def planted(connection, sql, *kinds):
    """What ``sql`` changes, as parity reports it (``kinds``, or all but column order)."""
    before = take_snapshot(connection)
    connection.exec_driver_sql(sql)
    after = take_snapshot(connection)
    if kinds:
        return diff_snapshots(before.of_kind(*kinds), after.of_kind(*kinds))
    return diff_snapshots(before.without(COLUMN_ORDER), after.without(COLUMN_ORDER))


@pytest.mark.parametrize(("sql", "expected"), DRIFTS.values(), ids=DRIFTS.keys())
def test_each_planted_drift_is_reported_exactly(models_connection, sql, expected):
    found = planted(models_connection, sql)
    if expected is not None:
        assert found == [expected]
    elif "CAST" in sql:
        cast = (
            "cast (probe_state AS text) only in models: "
            "function probe_state_text(probe_state); context assignment"
        )
        assert cast in found, found
        assert len(found) == 2, found  # and its function
    else:
        assert found == [
            "foreign data wrapper probe_fdw only in models",
            "foreign server probe_remote only in models: wrapper probe_fdw; options host=x",
        ]


# What a migration may do and its downgrade undo, leaving an ACL equal to the owner's
# default rather than none: the same grants, as pg_dump sees them (issue 23 #2).
GIVEN_BACK = {
    kind: f"CREATE ROLE parity_probe; GRANT {grant} TO parity_probe; "
    f"REVOKE {grant} FROM parity_probe; DROP ROLE parity_probe"
    for kind, grant in {
        "table": "SELECT ON probe",
        "column": "SELECT (name) ON probe",
        "sequence": "USAGE ON probe_event_id_seq",
        "schema": "USAGE ON SCHEMA public",
        "type": "USAGE ON TYPE probe_state",
    }.items()
}


@pytest.mark.parametrize("sql", GIVEN_BACK.values(), ids=GIVEN_BACK.keys())
def test_a_grant_and_its_revoke_leave_the_grants_as_they_were(models_connection, sql):
    assert planted(models_connection, sql) == []


def test_column_order_is_its_own_kind(models_connection):
    sql = "ALTER TABLE probe DROP COLUMN kind; ALTER TABLE probe ADD COLUMN kind varchar(50)"
    savepoint = models_connection.begin_nested()
    assert planted(models_connection, sql) == []  # not a drift of its own
    savepoint.rollback()
    assert planted(models_connection, sql, COLUMN_ORDER) == [
        "column order public.probe: columns\n"
        "    migrations: id, name, branch, repo, kind, state, enabled, started_at, completed_at\n"
        "    models:     id, name, branch, repo, state, enabled, started_at, completed_at, kind"
    ]


def test_a_missing_table_is_one_entry_with_everything_it_held(models_connection):
    entries = planted(models_connection, "DROP TABLE probe CASCADE")
    [table] = [e for e in entries if e.startswith("table public.probe only in migrations")]
    assert (
        "    column public.probe.name: type character varying(255); nullability NOT NULL; " in table
    )
    assert "    constraint public.probe.pk_probe: definition PRIMARY KEY (id)" in table
    assert "    index public.ix_probe_state_started_at: " in table
    assert "    sequence public.probe_id_seq: " in table
    # What other tables lose with it is theirs: probe_event's foreign key to probe.
    assert entries == [
        "constraint public.probe_event.fk_probe_event_probe_id_probe only in migrations: "
        "definition FOREIGN KEY (probe_id) REFERENCES probe(id) ON DELETE SET NULL",
        table,
    ]


RENAMED = {
    "constraint": (
        "ALTER TABLE probe RENAME CONSTRAINT uq_probe_name TO probe_name_key",
        "constraint on public.probe named uq_probe_name in migrations, probe_name_key in "
        "models: definition UNIQUE (name)",
    ),
    "index": (
        "ALTER INDEX ix_probe_state_started_at RENAME TO probe_state_started_at_idx",
        "index on public.probe named ix_probe_state_started_at in migrations, "
        "probe_state_started_at_idx in models: definition CREATE INDEX "
        "ix_probe_state_started_at ON public.probe USING btree (state, started_at)",
    ),
}


@pytest.mark.parametrize(("sql", "expected"), RENAMED.values(), ids=RENAMED.keys())
def test_a_renamed_twin_is_one_entry_in_names_only(models_connection, sql, expected):
    before = take_snapshot(models_connection)
    models_connection.exec_driver_sql(sql)
    [difference] = differences(before, take_snapshot(models_connection))
    assert (difference.text, difference.group) == (expected, "names only")


GROUPED = {  # drift: the group its report is under
    "column type": "behaviour",
    "server default": "behaviour",
    "partial index predicate": "behaviour",
    "unique constraint": "behaviour",
    "CHECK constraint": "behaviour",
    "policy": "behaviour",
    "missing index": "performance",
    "index column order": "performance",
    "storage option": "performance",
    "column statistics target": "performance",
    "statistics target of an expression index column": "performance",
    "UNLOGGED table": "performance",
    "sequence option": "performance",
    "column comment": "comments",
    "table comment": "comments",
}


@pytest.mark.parametrize(("drift", "group"), GROUPED.items(), ids=GROUPED.keys())
def test_each_drift_is_grouped_by_what_it_changes(models_connection, drift, group):
    before = take_snapshot(models_connection)
    models_connection.exec_driver_sql(DRIFTS[drift][0])
    [difference] = differences(
        before.without(COLUMN_ORDER), take_snapshot(models_connection).without(COLUMN_ORDER)
    )
    assert difference.group == group


def test_the_report_puts_behaviour_first_and_names_each_group(models_connection):
    before = take_snapshot(models_connection)
    for drift in ("table comment", "missing index", "server default"):
        models_connection.exec_driver_sql(DRIFTS[drift][0])
    found = differences(
        before.without(COLUMN_ORDER), take_snapshot(models_connection).without(COLUMN_ORDER)
    )
    lines = parity.report("they differ", found).splitlines()
    assert [line for line in lines if not line.startswith(("-", " "))] == [
        "they differ:",
        "behaviour — what the database accepts, stores or returns (1):",
        "performance — plans and storage only (1):",
        "comments — documentation only (1):",
    ]


def test_another_schema_is_read_too(models_connection):
    entries = planted(
        models_connection,
        "CREATE SCHEMA audit; CREATE TABLE audit.log (id bigint)",
    )
    assert entries == [
        "schema audit only in models",
        "table audit.log only in models\n"
        "    column audit.log.id: type bigint; nullability NULL; default none",
    ]


def test_autogenerate_is_described_readably(models_connection):
    models = MetaData()
    Table("probe", models, Column("id", Integer, primary_key=True), Column("branch", String(255)))
    models_connection.execute(text("ALTER TABLE probe ALTER COLUMN branch TYPE text"))
    described = describe_autogenerate(autogenerate_diff(models_connection, models))
    assert "remove_column probe.kind" in described
    [modified] = [line for line in described if line.startswith("modify_type probe.branch")]
    assert modified == "modify_type probe.branch: database TEXT, models VARCHAR(255)"


def test_the_pg_dump_backstop_reports_what_the_snapshot_missed(
    pgdb_pg_dump, pgdb_make_database, pgdb_models_schema
):
    """A snapshot blind to a drift (here: the same snapshot on both sides) is caught."""
    if pgdb_pg_dump is None:
        pytest.skip("no pg_dump of the server's major version (test_the_pg_dump_backstop_ran)")
    database = pgdb_make_database("backstop")
    database.build_schema(db.metadata)
    with admin_connection(database.url) as connection:
        connection.execute(text("COMMENT ON TABLE projects IS 'planted'"))
    blind = parity.Schema(pgdb_models_schema.snapshot, dump_schema(pgdb_pg_dump, database.url))
    [entry] = parity.schema_differences(pgdb_models_schema, blind)
    assert entry.group == "behaviour"
    entry = entry.text
    assert entry.startswith(parity.BACKSTOP)
    assert entry.endswith("only in models:\n    COMMENT ON TABLE public.projects IS 'planted';")


def test_pg_dump_normalisation_keeps_the_schema_and_drops_the_noise():
    dump = (
        "--\n-- PostgreSQL database dump\n--\n\\restrict abc\nSET statement_timeout = 0;\n"
        "SELECT pg_catalog.set_config('search_path', '', false);\n\n"
        "CREATE TABLE public.t (\n    id integer NOT NULL,\n    b text,\n"
        "    a text DEFAULT 'x'::text\n);\n"
        "CREATE UNLOGGED TABLE public.u (\n    z integer\n)\nWITH (fillfactor='70');\n"
        "\\unrestrict abc\n"
    )
    assert normalise(dump) == [
        "CREATE TABLE public.t (\n    a text DEFAULT 'x'::text\n    b text\n"
        "    id integer NOT NULL\n);",
        "CREATE UNLOGGED TABLE public.u (\n    z integer\n)\nWITH (fillfactor='70');",
    ]


def test_a_table_on_one_side_only_is_the_schemas_difference_not_column_orders(
    models_connection,
):
    before = parity.Schema(take_snapshot(models_connection), None)
    models_connection.exec_driver_sql(
        "CREATE TABLE probe_extra (a int); "
        "ALTER TABLE probe DROP COLUMN kind; ALTER TABLE probe ADD COLUMN kind varchar(50)"
    )
    after = parity.Schema(take_snapshot(models_connection), None)
    for left, right in ((before, after), (after, before)):
        [reordered] = parity.column_order_differences(left, right)
        assert reordered.text.startswith("column order public.probe: columns")
    assert [d.text.splitlines()[0] for d in parity.schema_differences(before, after)] == [
        "table public.probe_extra only in models"
    ]
