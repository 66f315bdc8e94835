"""The worked example from docs/testing.md (tests/unit/test_docs.py keeps them equal)."""

from sqlalchemy import select

from claude_headspace.models import Agent, TaskState
from tests.integration.factories import AgentFactory, TaskFactory


def test_agent_state_follows_its_newest_open_task(db_session):
    agent = AgentFactory()  # builds and commits a Project too
    TaskFactory(agent=agent, completed=True)
    TaskFactory(agent=agent, awaiting_input=True)

    fresh = db_session.scalars(select(Agent).where(Agent.id == agent.id)).one()
    assert fresh.state is TaskState.AWAITING_INPUT


def test_health_endpoint_sees_the_database(client):
    assert client.get("/health").get_json()["database"] == "connected"
