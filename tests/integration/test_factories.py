"""Every factory builds a row that PostgreSQL accepts and that reads back equal."""

from datetime import UTC

import pytest
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from claude_headspace.database import db
from claude_headspace.models import TaskState
from tests.integration.factories import (
    ALL_FACTORIES,
    AgentFactory,
    ObjectiveHistoryFactory,
    TaskFactory,
    TurnFactory,
)


def column_values(instance) -> dict:
    mapper = inspect(type(instance))
    return {column.key: getattr(instance, column.key) for column in mapper.column_attrs}


@pytest.mark.parametrize("factory_class", ALL_FACTORIES, ids=lambda f: f.__name__)
def test_factory_row_reads_back_equal_in_a_fresh_session(factory_class):
    built = factory_class()
    expected = column_values(built)
    with Session(db.engine) as fresh:  # a new connection: only committed data is visible
        loaded = fresh.get(type(built), built.id)
        assert loaded is not None
        assert column_values(loaded) == expected


def test_timestamps_are_timezone_aware_and_defaults_apply():
    turn = TurnFactory(timestamp=None)  # let the column default fill it
    db.session.expire_all()
    assert turn.timestamp is not None
    assert turn.timestamp.tzinfo is not None
    assert turn.task.started_at.utcoffset() == UTC.utcoffset(None)


def test_subfactory_chain_builds_every_parent():
    turn = TurnFactory()
    assert turn.task.agent.project.id == 1
    history = ObjectiveHistoryFactory()
    assert history.objective.history == [history]


def test_sequences_keep_unique_fields_unique():
    agents = AgentFactory.create_batch(3)
    assert len({a.session_uuid for a in agents}) == 3
    assert len({a.claude_session_id for a in agents}) == 3
    assert len({a.project.path for a in agents}) == 3
    assert len({a.project.slug for a in agents}) == 3


def test_traits():
    task = TaskFactory(completed=True)
    assert task.state is TaskState.COMPLETE
    assert task.completed_at > task.started_at
    agent = AgentFactory(prioritised=True, ended=True)
    assert (agent.priority_score, agent.priority_updated_at) == (80, agent.last_seen_at)
    assert agent.ended_at == agent.last_seen_at
