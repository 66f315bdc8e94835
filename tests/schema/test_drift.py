"""The parity check can fail: each planted drift is reported as exactly one line.

Every drift is planted by hand in a transaction on the models database, compared
against the migrated database, and rolled back.
"""

import pytest
from sqlalchemy import text

from claude_headspace.database import db
from claude_headspace.testing import migrations
from claude_headspace.testing.snapshot import diff_snapshots, take_snapshot

DRIFTS = {
    "column type": (
        "ALTER TABLE projects ALTER COLUMN name TYPE text",
        "projects.name: type differs — migrations: character varying(255), models: text",
    ),
    "nullability": (
        "ALTER TABLE projects ALTER COLUMN github_repo SET NOT NULL",
        "projects.github_repo: nullability differs — migrations: NULL, models: NOT NULL",
    ),
    "server default": (
        "ALTER TABLE objectives ALTER COLUMN priority_enabled SET DEFAULT false",
        "objectives.priority_enabled: default differs — migrations: true, models: false",
    ),
    "missing index": (
        "DROP INDEX ix_turns_task_id_timestamp",
        "turns: index ix_turns_task_id_timestamp only in migrations: "
        "CREATE INDEX ix_turns_task_id_timestamp ON public.turns USING btree "
        '(task_id, "timestamp")',
    ),
    "changed index definition": (
        "DROP INDEX ix_events_agent_id_timestamp; "
        "CREATE INDEX ix_events_agent_id_timestamp ON events (agent_id)",
        "events: index ix_events_agent_id_timestamp definition differs — migrations: "
        "CREATE INDEX ix_events_agent_id_timestamp ON public.events USING btree "
        '(agent_id, "timestamp"), models: CREATE INDEX ix_events_agent_id_timestamp ON '
        "public.events USING btree (agent_id)",
    ),
    "partial index predicate": (
        "DROP INDEX uq_agents_claude_session_id; "
        "CREATE UNIQUE INDEX uq_agents_claude_session_id ON agents (claude_session_id)",
        "agents: index uq_agents_claude_session_id definition differs — migrations: "
        "CREATE UNIQUE INDEX uq_agents_claude_session_id ON public.agents USING btree "
        "(claude_session_id) WHERE (claude_session_id IS NOT NULL), models: CREATE UNIQUE "
        "INDEX uq_agents_claude_session_id ON public.agents USING btree (claude_session_id)",
    ),
    "foreign key ON DELETE": (
        "ALTER TABLE events DROP CONSTRAINT fk_events_turn_id_turns; "
        "ALTER TABLE events ADD CONSTRAINT fk_events_turn_id_turns FOREIGN KEY (turn_id) "
        "REFERENCES turns (id) ON DELETE CASCADE",
        "events: constraint fk_events_turn_id_turns definition differs — migrations: "
        "FOREIGN KEY (turn_id) REFERENCES turns(id) ON DELETE SET NULL, models: "
        "FOREIGN KEY (turn_id) REFERENCES turns(id) ON DELETE CASCADE",
    ),
    "CHECK constraint": (
        "ALTER TABLE tasks DROP CONSTRAINT ck_tasks_completed_after_started; "
        "ALTER TABLE tasks ADD CONSTRAINT ck_tasks_completed_after_started "
        "CHECK (completed_at IS NULL OR completed_at > started_at)",
        "tasks: constraint ck_tasks_completed_after_started definition differs — migrations: "
        "CHECK (completed_at IS NULL OR completed_at >= started_at), models: "
        "CHECK (completed_at IS NULL OR completed_at > started_at)",
    ),
    "enum label": (
        "ALTER TYPE taskstate ADD VALUE 'paused'",
        "tasks.state: enum taskstate labels differ — migrations: ['idle', 'commanded', "
        "'processing', 'awaiting_input', 'complete'], models: ['idle', 'commanded', "
        "'processing', 'awaiting_input', 'complete', 'paused']",
    ),
    "unique constraint": (
        "ALTER TABLE projects DROP CONSTRAINT uq_projects_slug",
        "projects: constraint uq_projects_slug only in migrations: UNIQUE (slug)",
    ),
    "extra column": (
        "ALTER TABLE agents ADD COLUMN notes text",
        "agents.notes: column only in models (text)",
    ),
}


@pytest.mark.parametrize(("sql", "expected"), DRIFTS.values(), ids=DRIFTS.keys())
def test_each_planted_drift_is_reported_exactly(head_snapshot, models_connection, sql, expected):
    assert diff_snapshots(head_snapshot, take_snapshot(models_connection)) == []
    models_connection.exec_driver_sql(sql)
    assert diff_snapshots(head_snapshot, take_snapshot(models_connection)) == [expected]


def test_autogenerate_check_catches_a_type_drift(models_connection):
    assert migrations.autogenerate_diff(models_connection, db.metadata) == []
    models_connection.execute(text("ALTER TABLE projects ALTER COLUMN name TYPE text"))
    [[operation, *_details]] = migrations.autogenerate_diff(models_connection, db.metadata)
    assert operation[0] == "modify_type"
    assert (operation[2], operation[3]) == ("projects", "name")


def test_a_missing_table_and_enum_are_reported(head_snapshot, models_connection):
    models_connection.exec_driver_sql("DROP TABLE turns CASCADE; DROP TYPE turnactor")
    diff = diff_snapshots(head_snapshot, take_snapshot(models_connection))
    assert "table turns only in migrations" in diff
    assert "turns.actor: enum turnactor only in migrations" in diff
    assert "sequence turns_id_seq only in migrations" in diff
