"""The proof of concept: Project -> Agent -> Task -> Turns -> Event, all read back."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from claude_headspace.database import db
from claude_headspace.models import Agent, Event, EventType, Project, Task, TaskState
from claude_headspace.models.turn import Turn, TurnActor, TurnIntent

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def turn(task, actor, intent, text, at, **more):
    return Turn(task=task, actor=actor, intent=intent, text=text, timestamp=at, **more)


def test_full_chain_persists_and_reads_back_field_by_field():
    session_uuid = uuid.uuid4()
    project = Project(name="Claude Headspace!", path="/src/headspace", github_repo="o/hs")
    agent = Agent(
        project=project,
        session_uuid=session_uuid,
        claude_session_id="c-1",
        started_at=T0,
        last_seen_at=T0 + timedelta(minutes=3),
    )
    task = Task(
        agent=agent, state=TaskState.AWAITING_INPUT, instruction="Add /health", started_at=T0
    )
    command = turn(task, TurnActor.USER, TurnIntent.COMMAND, "Add a /health route", T0)
    progress = turn(
        task,
        TurnActor.AGENT,
        TurnIntent.PROGRESS,
        "Editing routes/health.py",
        T0 + timedelta(seconds=30),
        tool_input={"tool": "Edit", "args": {"path": "routes/health.py", "n": [1, 2]}},
    )
    ask = "Should the route also report the version?"
    question = turn(task, TurnActor.AGENT, TurnIntent.QUESTION, ask, T0 + timedelta(minutes=1))
    payload = {
        "from": "processing",
        "to": "awaiting_input",
        "confidence": 0.9,
        "nested": {"list": [1, "two", None, True]},
    }
    db.session.add_all([project, command, progress, question])
    db.session.flush()
    event = Event(
        event_type=EventType.STATE_TRANSITION,
        timestamp=T0 + timedelta(minutes=2),
        project_id=project.id,
        agent_id=agent.id,
        task_id=task.id,
        turn_id=question.id,
        payload=payload,
    )
    db.session.add(event)
    db.session.commit()
    db.session.remove()

    with Session(db.engine) as fresh:
        loaded = fresh.scalars(select(Project)).one()
        assert (loaded.name, loaded.slug, loaded.path, loaded.github_repo) == (
            "Claude Headspace!",
            "claude-headspace",
            "/src/headspace",
            "o/hs",
        )
        [loaded_agent] = loaded.agents
        assert loaded_agent.session_uuid == session_uuid
        assert loaded_agent.claude_session_id == "c-1"
        assert loaded_agent.started_at == T0
        assert loaded_agent.last_seen_at == T0 + timedelta(minutes=3)
        assert loaded_agent.state is TaskState.AWAITING_INPUT
        [loaded_task] = loaded_agent.tasks
        assert (loaded_task.state, loaded_task.instruction) == (
            TaskState.AWAITING_INPUT,
            "Add /health",
        )
        assert [(t.actor, t.intent, t.text) for t in loaded_task.turns] == [
            (TurnActor.USER, TurnIntent.COMMAND, "Add a /health route"),
            (TurnActor.AGENT, TurnIntent.PROGRESS, "Editing routes/health.py"),
            (TurnActor.AGENT, TurnIntent.QUESTION, "Should the route also report the version?"),
        ]
        assert loaded_task.turns[1].tool_input == {
            "tool": "Edit",
            "args": {"path": "routes/health.py", "n": [1, 2]},
        }
        loaded_event = fresh.scalars(select(Event)).one()
        assert (
            loaded_event.project_id,
            loaded_event.agent_id,
            loaded_event.task_id,
            loaded_event.turn_id,
        ) == (loaded.id, loaded_agent.id, loaded_task.id, loaded_task.turns[2].id)
        assert loaded_event.event_type == "state_transition"
        assert loaded_event.payload == payload
        assert loaded_event.timestamp == T0 + timedelta(minutes=2)

        # Enums are stored as their lowercase values, JSONB as real jsonb.
        row = fresh.execute(
            text(
                "SELECT t.state::text, e.payload->'nested'->'list'->>1, pg_typeof(e.payload)::text "
                "FROM tasks t, events e"
            )
        ).one()
        assert tuple(row) == ("awaiting_input", "two", "jsonb")


def test_agent_state_is_newest_open_task_else_idle(db_session):
    project = Project(name="p", path="/p")
    agent = Agent(project=project, session_uuid=uuid.uuid4(), started_at=T0, last_seen_at=T0)
    db_session.add(agent)
    db_session.commit()
    assert agent.state is TaskState.IDLE
    db_session.add_all(
        [
            Task(agent=agent, state=TaskState.PROCESSING, started_at=T0),
            Task(
                agent=agent,
                state=TaskState.COMPLETE,
                started_at=T0 + timedelta(hours=1),
                completed_at=T0 + timedelta(hours=2),
            ),
        ]
    )
    db_session.commit()
    db_session.expire(agent)
    assert [t.state for t in agent.tasks] == [TaskState.COMPLETE, TaskState.PROCESSING]
    assert agent.state is TaskState.PROCESSING
