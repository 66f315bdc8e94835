"""Constraints are enforced by PostgreSQL itself, not by the ORM."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete, insert, select, text
from sqlalchemy.exc import DataError, IntegrityError

from claude_headspace.database import db
from claude_headspace.models import Agent, Event, Objective, ObjectiveHistory, Project, Task, Turn
from tests.integration.factories import (
    AgentFactory,
    EventFactory,
    ObjectiveHistoryFactory,
    ProjectFactory,
    TaskFactory,
    TurnFactory,
)


def violates(constraint: str, statement: str, params: dict | None = None) -> None:
    """Run raw SQL and assert PostgreSQL rejects it naming ``constraint``."""
    with pytest.raises(IntegrityError) as err:
        db.session.execute(text(statement), params or {})
    db.session.rollback()
    assert err.value.orig.diag.constraint_name == constraint


def count(model) -> int:
    return db.session.scalar(select(db.func.count()).select_from(model))


# --- unique -------------------------------------------------------------------------


def test_project_path_is_unique():
    ProjectFactory(path="/same")
    violates(
        "uq_projects_path", "INSERT INTO projects (name, slug, path) VALUES ('b', 'b', '/same')"
    )


def test_project_slug_is_unique():
    ProjectFactory(slug="same")
    violates(
        "uq_projects_slug", "INSERT INTO projects (name, slug, path) VALUES ('b', 'same', '/b')"
    )


def test_agent_session_uuid_is_unique():
    agent = AgentFactory()
    violates(
        "uq_agents_session_uuid",
        "INSERT INTO agents (session_uuid, project_id) VALUES (:u, :p)",
        {"u": agent.session_uuid, "p": agent.project_id},
    )


def test_claude_session_id_unique_only_where_not_null():
    project = ProjectFactory()
    AgentFactory(project=project, claude_session_id=None)
    AgentFactory(project=project, claude_session_id=None)  # many agents may have none
    AgentFactory(project=project, claude_session_id="c-1")
    violates(
        "uq_agents_claude_session_id",
        "INSERT INTO agents (session_uuid, project_id, claude_session_id) VALUES (:u, :p, 'c-1')",
        {"u": uuid.uuid4(), "p": project.id},
    )


# --- NOT NULL and enums -------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "column", "statement"),
    [
        ("projects", "name", "INSERT INTO projects (slug, path) VALUES ('s', '/p')"),
        ("projects", "slug", "INSERT INTO projects (name, path) VALUES ('n', '/p')"),
        ("projects", "path", "INSERT INTO projects (name, slug) VALUES ('n', 's')"),
        ("agents", "project_id", "INSERT INTO agents (session_uuid) VALUES (gen_random_uuid())"),
        (
            "turns",
            "text",
            "INSERT INTO turns (task_id, actor, intent) VALUES (1, 'user', 'command')",
        ),
        ("events", "event_type", "INSERT INTO events (payload) VALUES ('{}')"),
        ("objectives", "current_text", "INSERT INTO objectives (constraints) VALUES ('x')"),
        (
            "objective_histories",
            "text",
            "INSERT INTO objective_histories (objective_id) VALUES (1)",
        ),
    ],
)
def test_not_null(table, column, statement):
    with pytest.raises(IntegrityError) as err:
        db.session.execute(text(statement))
    db.session.rollback()
    assert err.value.orig.pgcode == "23502"  # not_null_violation
    assert (err.value.orig.diag.table_name, err.value.orig.diag.column_name) == (table, column)


def test_invalid_enum_value_is_rejected_by_the_database():
    task = TaskFactory()
    with pytest.raises(DataError, match="invalid input value for enum taskstate"):
        db.session.execute(
            text("UPDATE tasks SET state = 'sleeping' WHERE id = :id"), {"id": task.id}
        )
    db.session.rollback()


def test_enum_member_names_are_not_accepted_only_values():
    task = TaskFactory()
    with pytest.raises(DataError):
        db.session.execute(
            text("UPDATE tasks SET state = 'AWAITING_INPUT' WHERE id = :id"), {"id": task.id}
        )
    db.session.rollback()


def test_server_defaults():
    agent = AgentFactory()
    db.session.execute(text("INSERT INTO tasks (agent_id) VALUES (:a)"), {"a": agent.id})
    db.session.execute(text("INSERT INTO objectives (current_text) VALUES ('ship it')"))
    row = db.session.execute(
        text(
            "SELECT t.state::text, t.started_at IS NOT NULL, o.priority_enabled "
            "FROM tasks t, objectives o"
        )
    ).one()
    assert tuple(row) == ("idle", True, True)


# --- CHECK --------------------------------------------------------------------------


def test_agent_cannot_end_before_it_started():
    agent = AgentFactory()
    violates(
        "ck_agents_ended_after_started",
        "UPDATE agents SET ended_at = started_at - interval '1 second' WHERE id = :id",
        {"id": agent.id},
    )


def test_agent_priority_fields_all_or_none():
    agent = AgentFactory()
    violates(
        "ck_agents_priority_all_or_none",
        "UPDATE agents SET priority_score = 5 WHERE id = :id",
        {"id": agent.id},
    )
    prioritised = AgentFactory(prioritised=True)
    violates(
        "ck_agents_priority_all_or_none",
        "UPDATE agents SET priority_reason = NULL WHERE id = :id",
        {"id": prioritised.id},
    )


def test_task_cannot_complete_before_it_started():
    task = TaskFactory()
    violates(
        "ck_tasks_completed_after_started",
        "UPDATE tasks SET completed_at = started_at - interval '1 minute' WHERE id = :id",
        {"id": task.id},
    )


def test_check_constraints_accept_valid_rows():
    agent = AgentFactory(prioritised=True, ended=True)
    task = TaskFactory(completed=True, agent=agent)
    assert task.completed_at - task.started_at == timedelta(minutes=30)


# --- cascades and SET NULL, through Core DELETE (the database does the work) --------


def test_deleting_a_project_cascades_through_agents_tasks_turns():
    turn = TurnFactory()
    TurnFactory(task=turn.task)
    project_id = turn.task.agent.project_id
    db.session.execute(delete(Project).where(Project.id == project_id))
    db.session.commit()
    assert [count(m) for m in (Project, Agent, Task, Turn)] == [0, 0, 0, 0]


def test_deleting_an_objective_cascades_to_its_history():
    history = ObjectiveHistoryFactory()
    ObjectiveHistoryFactory(objective=history.objective)
    db.session.execute(delete(Objective))
    db.session.commit()
    assert count(ObjectiveHistory) == 0


def test_events_survive_deletions_with_references_set_null():
    turn = TurnFactory()
    task, agent = turn.task, turn.task.agent
    event = EventFactory(
        project_id=agent.project_id, agent_id=agent.id, task_id=task.id, turn_id=turn.id
    )
    db.session.execute(delete(Turn))
    db.session.commit()
    db.session.refresh(event)
    assert (event.project_id, event.agent_id, event.task_id, event.turn_id) == (
        agent.project_id,
        agent.id,
        task.id,
        None,
    )
    db.session.execute(delete(Project))
    db.session.commit()
    db.session.refresh(event)
    assert (event.project_id, event.agent_id, event.task_id, event.turn_id) == (
        None,
        None,
        None,
        None,
    )
    assert count(Event) == 1


def test_answered_by_is_set_null_when_the_answer_is_deleted():
    question = TurnFactory(agent_question=True)
    answer = TurnFactory(task=question.task, text="yes")
    question.answered_by = answer
    db.session.commit()
    db.session.execute(delete(Turn).where(Turn.id == answer.id))
    db.session.commit()
    db.session.refresh(question)
    assert question.answered_by_turn_id is None


def test_orm_delete_of_parent_removes_children_too():
    task = TaskFactory()
    TurnFactory.create_batch(2, task=task)
    db.session.delete(task.agent)
    db.session.commit()
    assert (count(Task), count(Turn)) == (0, 0)


def test_insert_with_unknown_parent_is_rejected():
    with pytest.raises(IntegrityError) as err:
        db.session.execute(insert(Task).values(agent_id=999))
    db.session.rollback()
    assert err.value.orig.diag.constraint_name == "fk_tasks_agent_id_agents"


def test_an_agent_recorded_without_its_session_fails_at_flush():
    """session_uuid identifies the Claude Code session: the model never invents one."""
    db.session.add(Agent(project=ProjectFactory()))
    with pytest.raises(IntegrityError) as err:
        db.session.flush()
    db.session.rollback()
    assert err.value.orig.pgcode == "23502"  # not_null_violation
    assert err.value.orig.diag.column_name == "session_uuid"
