"""Migrations keep data: a database at the first revision, full of rows, goes to head."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from claude_headspace.models import slugify
from pytest_flask_pgdb.databases.connections import admin_connection, describe_error
from pytest_flask_pgdb.parity.migrations import MigrationError

TABLES = ("projects", "agents", "tasks", "turns", "events", "objectives", "objective_histories")

# Rows as the first revision knew them: naive UTC timestamps, no slugs, no priority.
SEED = """
INSERT INTO projects (name, path, github_repo, created_at) VALUES
    ('My App', '/src/my-app', 'me/my-app', '2026-01-05 10:00:00'),
    ('My App', '/src/my-app-fork', NULL, '2026-01-06 11:30:00'),
    ('Ünïcode ✓ Tool', '/src/tool', NULL, '2026-01-07 12:00:00'),
    ('!!!', '/src/bang', NULL, '2026-01-08 08:15:00');
INSERT INTO agents (session_uuid, claude_session_id, project_id, started_at, last_seen_at,
                    ended_at) VALUES
    ('00000000-0000-0000-0000-000000000001', 'c-1', 1, '2026-01-05 10:01:00',
     '2026-01-05 11:00:00', '2026-01-05 11:00:00'),
    ('00000000-0000-0000-0000-000000000002', NULL, 1, '2026-01-05 10:02:00',
     '2026-01-05 10:30:00', NULL),
    ('00000000-0000-0000-0000-000000000003', NULL, 3, '2026-01-07 12:05:00',
     '2026-01-07 12:06:00', NULL);
INSERT INTO tasks (agent_id, state, instruction, completion_summary, started_at, completed_at)
VALUES
    (1, 'complete', 'Add /health', 'Done, tests pass', '2026-01-05 10:03:00',
     '2026-01-05 10:40:00'),
    (1, 'awaiting_input', 'Refactor config', NULL, '2026-01-05 10:45:00', NULL),
    (3, 'processing', 'Write docs', NULL, '2026-01-07 12:05:30', NULL);
INSERT INTO turns (task_id, actor, intent, text, timestamp, tool_input) VALUES
    (1, 'user', 'command', 'Add a /health route', '2026-01-05 10:03:00', NULL),
    (1, 'agent', 'progress', 'Editing', '2026-01-05 10:04:00', '{"tool": "Edit"}'),
    (1, 'agent', 'completion', 'Done.', '2026-01-05 10:40:00', NULL),
    (2, 'agent', 'question', 'Which loader?', '2026-01-05 10:46:00', NULL),
    (2, 'user', 'answer', 'YAML', '2026-01-05 10:47:00', NULL);
UPDATE turns SET answered_by_turn_id = 5 WHERE id = 4;
INSERT INTO events (timestamp, project_id, agent_id, task_id, turn_id, event_type, payload)
VALUES
    ('2026-01-05 10:03:01', 1, 1, 1, 1, 'turn_detected', '{"n": 1}'),
    ('2026-01-05 10:40:01', 1, 1, 1, 3, 'state_transition', '{"to": "complete"}'),
    ('2026-01-06 09:00:00', NULL, NULL, NULL, NULL, 'hook_received', NULL);
INSERT INTO objectives (current_text, constraints, set_at) VALUES
    ('Ship the persistence core', 'No data loss', '2026-01-01 09:00:00');
INSERT INTO objective_histories (objective_id, text, started_at, ended_at) VALUES
    (1, 'Prototype', '2025-12-01 09:00:00', '2026-01-01 09:00:00');
"""


def query(url, sql):
    with admin_connection(url) as connection:
        return connection.execute(text(sql)).all()


def dump(url) -> dict[str, list[str]]:
    return {t: [r[0] for r in query(url, f"SELECT t::text FROM {t} t ORDER BY id")] for t in TABLES}


def test_rows_survive_upgrade_to_head_and_a_step_down_and_up(pgdb_make_database, pgdb_migrations):
    database = pgdb_make_database("migrationdata")
    first = pgdb_migrations.revisions_in_order()[0].revision
    pgdb_migrations.upgrade(database.url, first)
    with admin_connection(database.url) as connection:
        connection.exec_driver_sql(SEED)
    counts = {t: query(database.url, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}
    assert all(counts.values()), counts

    pgdb_migrations.upgrade(database.url, "head")

    assert {t: query(database.url, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES} == counts
    slugs = [r[0] for r in query(database.url, "SELECT slug FROM projects ORDER BY id")]
    assert slugs == ["my-app", "my-app-2", slugify("Ünïcode ✓ Tool"), "project-4"]
    # Naive UTC values became the same instants, timezone-aware.
    [(created,)] = query(database.url, "SELECT created_at FROM projects WHERE id = 1")
    assert created == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert query(database.url, "SELECT priority_enabled FROM objectives") == [(True,)]
    assert query(database.url, "SELECT state::text FROM tasks ORDER BY id") == [
        ("complete",),
        ("awaiting_input",),
        ("processing",),
    ]
    assert query(database.url, "SELECT answered_by_turn_id FROM turns WHERE id = 4") == [(5,)]
    assert query(database.url, "SELECT payload->>'to' FROM events WHERE id = 2") == [("complete",)]

    at_head = dump(database.url)
    step_down_and_up(database.url, pgdb_migrations, pgdb_make_database)
    assert dump(database.url) == at_head


def step_down_and_up(url, migrations, make_database):
    """The last revision down and up again, on rows. If it fails on an empty database
    too, its downgrade does not reverse: the stairway check's failure, not this test's."""
    try:
        with migrations.steps_on(url) as steps:
            steps.downgrade("-1")
            steps.upgrade("head")
    except (MigrationError, SQLAlchemyError) as on_rows:
        empty = make_database("migrationdata_empty").url
        try:
            with migrations.steps_on(empty) as steps:
                steps.upgrade("head")
                steps.downgrade("-1")
                steps.upgrade("head")
        except (MigrationError, SQLAlchemyError):
            pytest.skip(
                "the last revision does not go down and up even without rows "
                f"({describe_error(on_rows)}): the stairway check fails on it"
            )
        raise
