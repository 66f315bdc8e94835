"""The parity checks can fail: each planted drift is reported as exactly one entry.

Every drift is planted by hand in a transaction on the models database and rolled
back. The snapshot before planting stands for what the migrations build, the one
after for what the models say; so these tests see only their own planting, and a real
drift in the tree fails the parity test once, not these too. (They plant on other
objects than the drifts the project has met, so a real one does not mask them.)
"""

import pytest
from sqlalchemy import text

from claude_headspace.database import db
from pytest_flask_pgdb import parity
from pytest_flask_pgdb.databases.connections import admin_connection
from pytest_flask_pgdb.parity.migrations import autogenerate_diff, describe_autogenerate
from pytest_flask_pgdb.parity.pgdump import dump_schema, normalise
from pytest_flask_pgdb.parity.snapshot import COLUMN_ORDER, diff_snapshots, take_snapshot

DRIFTS = {
    "column type": (
        "ALTER TABLE projects ALTER COLUMN current_branch TYPE text",
        "column public.projects.current_branch: type — migrations: character varying(255), "
        "models: text",
    ),
    "nullability": (
        "ALTER TABLE projects ALTER COLUMN github_repo SET NOT NULL",
        "column public.projects.github_repo: nullability — migrations: NULL, models: NOT NULL",
    ),
    "server default": (
        "ALTER TABLE objectives ALTER COLUMN priority_enabled SET DEFAULT false",
        "column public.objectives.priority_enabled: default — migrations: true, models: false",
    ),
    "collation": (
        'ALTER TABLE agents ALTER COLUMN iterm_pane_id TYPE varchar(255) COLLATE "POSIX"',
        "column public.agents.iterm_pane_id: collation — migrations: (none), "
        'models: pg_catalog."POSIX"',
    ),
    "column statistics target": (
        "ALTER TABLE events ALTER COLUMN event_type SET STATISTICS 500",
        "column public.events.event_type: statistics — migrations: (none), models: 500",
    ),
    "column comment": (
        "COMMENT ON COLUMN events.payload IS 'the hook''s body'",
        "column public.events.payload: comment — migrations: (none), models: the hook's body",
    ),
    "extra column": (
        "ALTER TABLE agents ADD COLUMN notes text",
        "column public.agents.notes only in models: type text; nullability NULL; default none",
    ),
    "UNLOGGED table": (
        "ALTER TABLE events SET UNLOGGED",
        "table public.events: persistence — migrations: (none), models: UNLOGGED",
    ),
    "storage option": (
        "ALTER TABLE turns SET (fillfactor = 70)",
        "table public.turns: options — migrations: (none), models: fillfactor=70",
    ),
    "table comment": (
        "COMMENT ON TABLE turns IS 'one exchange'",
        "table public.turns: comment — migrations: (none), models: one exchange",
    ),
    "grant": (
        "GRANT SELECT ON projects TO PUBLIC",
        "table public.projects: grants — migrations: (none), models: "
        "{postgres=arwdDxt/postgres,=r/postgres}",
    ),
    "sequence option": (
        "ALTER SEQUENCE events_id_seq CACHE 7",
        "sequence public.events_id_seq: cache — migrations: 1, models: 7",
    ),
    "missing index": (
        "DROP INDEX ix_turns_task_id_timestamp",
        "index public.ix_turns_task_id_timestamp only in migrations: definition CREATE INDEX "
        'ix_turns_task_id_timestamp ON public.turns USING btree (task_id, "timestamp")',
    ),
    "index column order": (
        "DROP INDEX ix_turns_task_id_timestamp; "
        'CREATE INDEX ix_turns_task_id_timestamp ON turns ("timestamp", task_id)',
        "index public.ix_turns_task_id_timestamp: definition\n"
        "    migrations: CREATE INDEX ix_turns_task_id_timestamp ON public.turns USING btree "
        '(task_id, "timestamp")\n'
        "    models:     CREATE INDEX ix_turns_task_id_timestamp ON public.turns USING btree "
        '("timestamp", task_id)',
    ),
    "partial index predicate": (
        "DROP INDEX uq_agents_claude_session_id; "
        "CREATE UNIQUE INDEX uq_agents_claude_session_id ON agents (claude_session_id)",
        "index public.uq_agents_claude_session_id: definition\n"
        "    migrations: CREATE UNIQUE INDEX uq_agents_claude_session_id ON public.agents USING "
        "btree (claude_session_id) WHERE (claude_session_id IS NOT NULL)\n"
        "    models:     CREATE UNIQUE INDEX uq_agents_claude_session_id ON public.agents USING "
        "btree (claude_session_id)",
    ),
    "foreign key ON DELETE": (
        "ALTER TABLE events DROP CONSTRAINT fk_events_turn_id_turns; "
        "ALTER TABLE events ADD CONSTRAINT fk_events_turn_id_turns FOREIGN KEY (turn_id) "
        "REFERENCES turns (id) ON DELETE CASCADE",
        "constraint public.events.fk_events_turn_id_turns: definition\n"
        "    migrations: FOREIGN KEY (turn_id) REFERENCES turns(id) ON DELETE SET NULL\n"
        "    models:     FOREIGN KEY (turn_id) REFERENCES turns(id) ON DELETE CASCADE",
    ),
    "deferrable foreign key": (
        "ALTER TABLE tasks ALTER CONSTRAINT fk_tasks_agent_id_agents DEFERRABLE INITIALLY DEFERRED",
        "constraint public.tasks.fk_tasks_agent_id_agents: definition\n"
        "    migrations: FOREIGN KEY (agent_id) REFERENCES agents(id) ON DELETE CASCADE\n"
        "    models:     FOREIGN KEY (agent_id) REFERENCES agents(id) ON DELETE CASCADE "
        "DEFERRABLE INITIALLY DEFERRED",
    ),
    "CHECK constraint": (
        "ALTER TABLE tasks DROP CONSTRAINT ck_tasks_completed_after_started; "
        "ALTER TABLE tasks ADD CONSTRAINT ck_tasks_completed_after_started "
        "CHECK (completed_at IS NULL OR completed_at > started_at)",
        "constraint public.tasks.ck_tasks_completed_after_started: definition\n"
        "    migrations: CHECK (completed_at IS NULL OR completed_at >= started_at)\n"
        "    models:     CHECK (completed_at IS NULL OR completed_at > started_at)",
    ),
    "unique constraint": (
        "ALTER TABLE projects DROP CONSTRAINT uq_projects_slug",
        "constraint public.projects.uq_projects_slug only in migrations: definition UNIQUE (slug)",
    ),
    "enum label": (
        "ALTER TYPE taskstate ADD VALUE 'paused'",
        "type public.taskstate: labels\n"
        "    migrations: 'idle', 'commanded', 'processing', 'awaiting_input', 'complete'\n"
        "    models:     'idle', 'commanded', 'processing', 'awaiting_input', 'complete', "
        "'paused'",
    ),
    "domain": (
        "CREATE DOMAIN positive AS integer CHECK (VALUE > 0)",
        "type public.positive only in models: kind domain; base type integer; "
        "constraints positive_check CHECK (VALUE > 0)",
    ),
    "trigger, disabled": (
        "CREATE TRIGGER skip_noop BEFORE UPDATE ON projects FOR EACH ROW "
        "EXECUTE FUNCTION suppress_redundant_updates_trigger(); "
        "ALTER TABLE projects DISABLE TRIGGER skip_noop",
        "trigger public.projects.skip_noop only in models: definition CREATE TRIGGER skip_noop "
        "BEFORE UPDATE ON projects FOR EACH ROW EXECUTE FUNCTION "
        "suppress_redundant_updates_trigger(); enabled DISABLED",
    ),
    "view": (
        "CREATE VIEW live_agents AS SELECT id, project_id FROM agents WHERE ended_at IS NULL",
        "view public.live_agents only in models: definition\n"
        "     SELECT agents.id,\n"
        "        agents.project_id\n"
        "       FROM agents\n"
        "      WHERE agents.ended_at IS NULL;",
    ),
    "materialized view": (
        "CREATE MATERIALIZED VIEW task_counts AS SELECT agent_id, count(*) FROM tasks "
        "GROUP BY agent_id WITH NO DATA",
        "materialized view public.task_counts only in models: populated WITH NO DATA\n"
        "definition\n"
        "     SELECT tasks.agent_id,\n"
        "        count(*) AS count\n"
        "       FROM tasks\n"
        "      GROUP BY tasks.agent_id;",
    ),
    "function": (
        "CREATE FUNCTION task_count(agent integer) RETURNS bigint LANGUAGE sql STABLE "
        "AS 'SELECT count(*) FROM tasks WHERE agent_id = agent'",
        "function public.task_count(agent integer) only in models: definition\n"
        "    CREATE OR REPLACE FUNCTION public.task_count(agent integer)\n"
        "     RETURNS bigint\n"
        "     LANGUAGE sql\n"
        "     STABLE\n"
        "    AS $function$SELECT count(*) FROM tasks WHERE agent_id = agent$function$",
    ),
    "row level security": (
        "ALTER TABLE projects ENABLE ROW LEVEL SECURITY",
        "table public.projects: row level security — migrations: (none), models: enabled",
    ),
    "policy": (
        "CREATE POLICY own ON projects FOR SELECT USING (github_repo IS NOT NULL)",
        "policy public.projects.own only in models: command SELECT; permissive PERMISSIVE; "
        "roles PUBLIC; using (github_repo IS NOT NULL)",
    ),
    "extension": (
        "COMMENT ON EXTENSION plpgsql IS 'changed'",
        "extension plpgsql: comment — migrations: PL/pgSQL procedural language, models: changed",
    ),
}


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
    assert planted(models_connection, sql) == [expected]


# What a migration may do and its downgrade undo, leaving an ACL equal to the owner's
# default rather than none: the same grants, as pg_dump sees them (issue 23 #2).
GIVEN_BACK = {
    kind: f"CREATE ROLE parity_probe; GRANT {grant} TO parity_probe; "
    f"REVOKE {grant} FROM parity_probe; DROP ROLE parity_probe"
    for kind, grant in {
        "table": "SELECT ON projects",
        "column": "SELECT (name) ON projects",
        "sequence": "USAGE ON events_id_seq",
        "schema": "USAGE ON SCHEMA public",
        "type": "USAGE ON TYPE taskstate",
    }.items()
}


@pytest.mark.parametrize("sql", GIVEN_BACK.values(), ids=GIVEN_BACK.keys())
def test_a_grant_and_its_revoke_leave_the_grants_as_they_were(models_connection, sql):
    assert planted(models_connection, sql) == []


def test_column_order_is_its_own_kind(models_connection):
    column = take_snapshot(models_connection).objects[("column", "public.agents.iterm_pane_id")]
    sql = (
        "ALTER TABLE agents DROP COLUMN iterm_pane_id; "
        f"ALTER TABLE agents ADD COLUMN iterm_pane_id {column['type']}"
    )
    savepoint = models_connection.begin_nested()
    assert planted(models_connection, sql) == []  # not a drift of its own
    savepoint.rollback()
    [entry] = planted(models_connection, sql, COLUMN_ORDER)
    assert entry.startswith("column order public.agents: columns\n    migrations: id, ")
    assert entry.endswith("priority_reason, priority_updated_at, iterm_pane_id")


def test_a_missing_table_is_one_entry_with_everything_it_held(models_connection):
    entries = planted(models_connection, "DROP TABLE turns CASCADE")
    [table] = [e for e in entries if e.startswith("table public.turns only in migrations")]
    assert "    column public.turns.text: type text; nullability NOT NULL; default none" in table
    assert "    constraint public.turns.pk_turns: definition PRIMARY KEY (id)" in table
    assert "    index public.ix_turns_task_id_timestamp: " in table
    assert "    sequence public.turns_id_seq: " in table
    # What other tables lose with it is theirs: events' foreign key to turns.
    assert entries == [
        "constraint public.events.fk_events_turn_id_turns only in migrations: definition "
        "FOREIGN KEY (turn_id) REFERENCES turns(id) ON DELETE SET NULL",
        table,
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
    models_connection.execute(text("ALTER TABLE projects ALTER COLUMN current_branch TYPE text"))
    models_connection.execute(text("ALTER TABLE agents ADD COLUMN notes text"))
    described = describe_autogenerate(autogenerate_diff(models_connection, db.metadata))
    assert "remove_column agents.notes" in described
    [modified] = [
        line for line in described if line.startswith("modify_type projects.current_branch")
    ]
    assert modified == "modify_type projects.current_branch: database TEXT, models VARCHAR(255)"


def test_the_pg_dump_backstop_reports_what_the_snapshot_missed(
    pg_dump, pgdb_make_database, models_schema
):
    """A snapshot blind to a drift (here: the same snapshot on both sides) is caught."""
    if pg_dump is None:
        pytest.skip("no pg_dump of the server's major version (test_the_pg_dump_backstop_ran)")
    database = pgdb_make_database("backstop")
    database.build_schema(db.metadata)
    with admin_connection(database.url) as connection:
        connection.execute(text("COMMENT ON TABLE projects IS 'planted'"))
    blind = parity.Schema(models_schema.snapshot, dump_schema(pg_dump, database.url))
    [entry] = parity.schema_differences(models_schema, blind)
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
