"""factory-boy factories for the seven models, bound to the test database session.

Each factory commits what it builds, so rows are visible to every connection (a
second session, a thread, raw SQL); the cleanup after each test removes them.
"""

import uuid
from datetime import UTC, datetime, timedelta

import factory
from factory.alchemy import SQLAlchemyModelFactory

from claude_headspace.database import db
from claude_headspace.models import (
    Agent,
    Event,
    EventType,
    Objective,
    ObjectiveHistory,
    Project,
    Task,
    TaskState,
    Turn,
    TurnActor,
    TurnIntent,
)

BASE_TIME = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def at_minute(n) -> datetime:
    """A timezone-aware timestamp n minutes after BASE_TIME (distinct and ordered)."""
    return BASE_TIME + timedelta(minutes=n)


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731  -- the current app's
        sqlalchemy_session_persistence = "commit"


class ProjectFactory(BaseFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")
    path = factory.Sequence(lambda n: f"/home/dev/projects/project-{n}")
    github_repo = factory.Sequence(lambda n: f"example/project-{n}")
    current_branch = "main"
    description = factory.Faker("sentence")
    created_at = factory.Sequence(at_minute)


class AgentFactory(BaseFactory):
    class Meta:
        model = Agent

    project = factory.SubFactory(ProjectFactory)
    session_uuid = factory.LazyFunction(uuid.uuid4)
    claude_session_id = factory.Sequence(lambda n: f"claude-session-{n:04d}")
    iterm_pane_id = factory.Sequence(lambda n: f"pane-{n}")
    started_at = factory.Sequence(at_minute)
    last_seen_at = factory.LazyAttribute(lambda o: o.started_at + timedelta(minutes=5))

    class Params:
        ended = factory.Trait(ended_at=factory.LazyAttribute(lambda o: o.last_seen_at))
        prioritised = factory.Trait(
            priority_score=80,
            priority_reason="Aligned with the current objective",
            priority_updated_at=factory.LazyAttribute(lambda o: o.last_seen_at),
        )


class TaskFactory(BaseFactory):
    class Meta:
        model = Task

    agent = factory.SubFactory(AgentFactory)
    state = TaskState.COMMANDED
    instruction = factory.Faker("sentence")
    started_at = factory.Sequence(at_minute)

    class Params:
        completed = factory.Trait(
            state=TaskState.COMPLETE,
            completion_summary="All requested changes are made and the tests pass.",
            completed_at=factory.LazyAttribute(lambda o: o.started_at + timedelta(minutes=30)),
        )
        awaiting_input = factory.Trait(state=TaskState.AWAITING_INPUT)


class TurnFactory(BaseFactory):
    class Meta:
        model = Turn

    task = factory.SubFactory(TaskFactory)
    actor = TurnActor.USER
    intent = TurnIntent.COMMAND
    text = factory.Faker("sentence")
    timestamp = factory.Sequence(at_minute)
    tool_input = None

    class Params:
        agent_question = factory.Trait(
            actor=TurnActor.AGENT, intent=TurnIntent.QUESTION, text="Should I also add tests?"
        )
        agent_progress = factory.Trait(
            actor=TurnActor.AGENT,
            intent=TurnIntent.PROGRESS,
            tool_input={"tool": "Edit", "file": "src/app.py", "lines": [1, 2]},
        )


class EventFactory(BaseFactory):
    class Meta:
        model = Event

    event_type = EventType.TURN_DETECTED
    timestamp = factory.Sequence(at_minute)
    payload = factory.Sequence(lambda n: {"sequence": n, "source": "factory"})


class ObjectiveFactory(BaseFactory):
    class Meta:
        model = Objective

    current_text = factory.Faker("sentence")
    constraints = "No breaking changes"
    priority_enabled = True
    set_at = factory.Sequence(at_minute)


class ObjectiveHistoryFactory(BaseFactory):
    class Meta:
        model = ObjectiveHistory

    objective = factory.SubFactory(ObjectiveFactory)
    text = factory.Faker("sentence")
    constraints = None
    started_at = factory.Sequence(at_minute)
    ended_at = factory.LazyAttribute(lambda o: o.started_at + timedelta(hours=1))


ALL_FACTORIES = (
    ProjectFactory,
    AgentFactory,
    TaskFactory,
    TurnFactory,
    EventFactory,
    ObjectiveFactory,
    ObjectiveHistoryFactory,
)
