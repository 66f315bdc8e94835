"""The models' contract, as PostgreSQL holds it: every label, every required column,
every optional one, the ORM's cascades and orderings.

Written out here rather than read from the models' metadata: a column that loses its
NOT NULL, an enum that loses a label, a relationship that loses its order must fail.
"""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DataError, IntegrityError, StatementError

from claude_headspace.database import db
from claude_headspace.models import Agent, Event, EventType, Objective, ObjectiveHistory, Project
from claude_headspace.models.task import Task, TaskState
from claude_headspace.models.turn import Turn, TurnActor, TurnIntent
from tests.integration.factories import (
    BASE_TIME,
    AgentFactory,
    EventFactory,
    ObjectiveFactory,
    ObjectiveHistoryFactory,
    ProjectFactory,
    TaskFactory,
    TurnFactory,
)

ENUM_LABELS = {
    "taskstate": ["idle", "commanded", "processing", "awaiting_input", "complete"],
    "turnactor": ["user", "agent"],
    "turnintent": ["command", "answer", "question", "completion", "progress", "end_of_task"],
}
EVENT_TYPES = [
    "session_discovered", "session_registered", "session_ended", "turn_detected",
    "state_transition", "objective_changed", "notification_sent", "hook_received",
    "hook_session_start", "hook_session_end", "hook_user_prompt", "hook_stop",
    "hook_notification",
]  # fmt: skip

# Every column that must hold a value (ids apart), per table.
REQUIRED = {
    "projects": ["name", "slug", "path", "created_at"],
    "agents": ["session_uuid", "project_id", "started_at", "last_seen_at"],
    "tasks": ["agent_id", "state", "started_at"],
    "turns": ["task_id", "actor", "intent", "text", "timestamp"],
    "events": ["timestamp", "event_type"],
    "objectives": ["current_text", "priority_enabled", "set_at"],
    "objective_histories": ["objective_id", "text", "started_at"],
}
# Every column that may be empty.
OPTIONAL = {
    "projects": ["github_repo", "current_branch", "description"],
    "agents": [
        "claude_session_id",
        "iterm_pane_id",
        "ended_at",
        "priority_score",
        "priority_reason",
        "priority_updated_at",
    ],
    "tasks": ["instruction", "completion_summary", "completed_at"],
    "turns": ["tool_input", "answered_by_turn_id"],
    "events": ["project_id", "agent_id", "task_id", "turn_id", "payload"],
    "objectives": ["constraints"],
    "objective_histories": ["constraints", "ended_at"],
}
ONE_ROW = {  # a row of each table, built with every parent
    "projects": ProjectFactory,
    "agents": AgentFactory,
    "tasks": TaskFactory,
    "turns": TurnFactory,
    "events": EventFactory,
    "objectives": ObjectiveFactory,
    "objective_histories": ObjectiveHistoryFactory,
}


@pytest.mark.parametrize(("enum", "labels"), ENUM_LABELS.items())
def test_the_database_enums_have_exactly_the_documented_labels(enum, labels):
    stored = db.session.execute(text(f"SELECT enum_range(NULL::{enum})::text[]")).scalar()
    assert stored == labels


@pytest.mark.parametrize("state", list(TaskState))
def test_every_task_state_round_trips(state):
    task = TaskFactory(state=state)
    assert db.session.execute(text("SELECT state::text FROM tasks")).scalar() == state.value
    db.session.expire_all()
    assert db.session.get(Task, task.id).state is state


@pytest.mark.parametrize("actor", list(TurnActor))
@pytest.mark.parametrize("intent", list(TurnIntent))
def test_every_actor_and_intent_round_trips(actor, intent):
    turn = TurnFactory(actor=actor, intent=intent)
    stored = db.session.execute(text("SELECT actor::text, intent::text FROM turns")).one()
    assert tuple(stored) == (actor.value, intent.value)
    db.session.expire_all()
    fresh = db.session.get(Turn, turn.id)
    assert (fresh.actor, fresh.intent) == (actor, intent)


def test_a_label_that_is_no_member_is_refused_before_the_database():
    TaskFactory()
    task = db.session.scalars(select(Task)).one()
    task.state = "sleeping"
    with pytest.raises(StatementError) as err:
        db.session.flush()
    db.session.rollback()
    assert isinstance(err.value.orig, LookupError)  # SQLAlchemy's check, not a DataError


def test_every_event_type_is_documented_and_round_trips():
    assert list(EventType.all()) == EVENT_TYPES
    for value in EVENT_TYPES:
        EventFactory(event_type=value)
    stored = db.session.scalars(select(Event.event_type).order_by(Event.id)).all()
    assert stored == EVENT_TYPES


@pytest.mark.parametrize(
    ("table", "column"), [(t, c) for t, columns in REQUIRED.items() for c in columns]
)
def test_every_required_column_refuses_null(table, column):
    row = ONE_ROW[table]()
    with pytest.raises(IntegrityError) as err:
        db.session.execute(
            text(f"UPDATE {table} SET {column} = NULL WHERE id = :id"), {"id": row.id}
        )
    db.session.rollback()
    assert err.value.orig.pgcode == "23502"  # not_null_violation
    assert err.value.orig.diag.column_name == column


@pytest.mark.parametrize(
    ("table", "column"), [(t, c) for t, columns in OPTIONAL.items() for c in columns]
)
def test_every_optional_column_takes_null(table, column):
    row = ONE_ROW[table]()
    db.session.execute(text(f"UPDATE {table} SET {column} = NULL WHERE id = :id"), {"id": row.id})
    db.session.commit()


def test_the_lists_above_cover_every_column():
    for table in db.metadata.sorted_tables:
        documented = {"id", *REQUIRED[table.name], *OPTIONAL[table.name]}
        assert documented == set(table.columns.keys()), table.name


def test_new_rows_leave_optional_timestamps_empty_and_take_the_defaults():
    agent = Agent(project=Project(name="p", path="/p"), session_uuid=uuid.uuid4())
    task = Task(agent=agent)
    objective = Objective(current_text="ship it")
    history = ObjectiveHistory(objective=objective, text="ship it")
    db.session.add_all([agent, task, history])
    db.session.commit()
    assert (agent.ended_at, agent.priority_updated_at, agent.priority_score) == (None, None, None)
    assert (task.completed_at, task.state) == (None, TaskState.IDLE)
    assert history.ended_at is None
    assert objective.priority_enabled is True
    for moment in (agent.started_at, agent.last_seen_at, task.started_at, objective.set_at):
        assert moment.tzinfo is not None
    assert agent.project.slug == "p"


def test_removing_an_agent_from_its_project_deletes_it_and_its_work():
    project = ProjectFactory()
    keep, drop = AgentFactory(project=project), AgentFactory(project=project)
    TurnFactory(task=TaskFactory(agent=drop))
    project.agents.remove(drop)
    db.session.commit()
    assert db.session.scalars(select(Agent.id)).all() == [keep.id]
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0
    assert db.session.scalar(select(func.count()).select_from(Turn)) == 0


def test_deleting_a_project_through_the_orm_deletes_its_agents():
    project = ProjectFactory()
    AgentFactory.create_batch(2, project=project)
    db.session.delete(project)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Agent)) == 0


def test_removing_a_history_entry_or_a_turn_from_its_parent_deletes_it():
    history = ObjectiveHistoryFactory()
    turn = TurnFactory()
    history.objective.history.remove(history)
    turn.task.turns.remove(turn)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(ObjectiveHistory)) == 0
    assert db.session.scalar(select(func.count()).select_from(Turn)) == 0


def test_tasks_are_newest_first_by_start_not_by_id():
    agent = AgentFactory()
    older_later_id = BASE_TIME - timedelta(days=1)
    first = TaskFactory(agent=agent, started_at=BASE_TIME, state=TaskState.PROCESSING)
    second = TaskFactory(agent=agent, started_at=older_later_id, state=TaskState.AWAITING_INPUT)
    same_start = TaskFactory(agent=agent, started_at=older_later_id, state=TaskState.COMMANDED)
    db.session.expire_all()
    fresh = db.session.get(Agent, agent.id)
    assert [t.id for t in fresh.tasks] == [first.id, same_start.id, second.id]
    assert fresh.state is TaskState.PROCESSING  # the newest open task, though lowest id


def test_turns_are_in_time_order_then_id():
    task = TaskFactory()
    late = TurnFactory(task=task, timestamp=BASE_TIME + timedelta(hours=1))
    early = TurnFactory(task=task, timestamp=BASE_TIME)
    tie = TurnFactory(task=task, timestamp=BASE_TIME)
    db.session.expire_all()
    assert [t.id for t in db.session.get(Task, task.id).turns] == [early.id, tie.id, late.id]


def test_objective_history_is_newest_first_then_id_and_agents_by_id():
    objective = ObjectiveFactory()
    old = ObjectiveHistoryFactory(objective=objective, started_at=BASE_TIME)
    new = ObjectiveHistoryFactory(objective=objective, started_at=BASE_TIME + timedelta(days=1))
    new_tie = ObjectiveHistoryFactory(objective=objective, started_at=new.started_at)
    project = ProjectFactory()
    agents = [AgentFactory(project=project) for _ in range(3)]
    db.session.expire_all()
    assert [h.id for h in db.session.get(Objective, objective.id).history] == [
        new_tie.id,
        new.id,
        old.id,
    ]
    assert [a.id for a in db.session.get(Project, project.id).agents] == [a.id for a in agents]


def test_an_answer_links_to_its_turn():
    question = TurnFactory(agent_question=True)
    answer = TurnFactory(task=question.task)
    question.answered_by = answer
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Turn, question.id).answered_by.id == answer.id
    assert db.session.get(Turn, answer.id).answered_by is None


LENGTHS = {  # character columns with a limit: the limit fits, one more is refused
    ("projects", "name"): 255,
    ("projects", "slug"): 255,
    ("projects", "github_repo"): 255,
    ("projects", "current_branch"): 255,
    ("agents", "claude_session_id"): 255,
    ("agents", "iterm_pane_id"): 255,
    ("events", "event_type"): 64,
}


@pytest.mark.parametrize(("table", "column", "limit"), [(*k, v) for k, v in LENGTHS.items()])
def test_every_limited_text_column_holds_its_limit_and_not_one_more(table, column, limit):
    row = ONE_ROW[table]()
    update = text(f"UPDATE {table} SET {column} = :v WHERE id = :id")
    db.session.execute(update, {"v": "x" * limit, "id": row.id})
    db.session.commit()
    with pytest.raises(DataError) as err:
        db.session.execute(update, {"v": "x" * (limit + 1), "id": row.id})
    db.session.rollback()
    assert err.value.orig.pgcode == "22001"  # string_data_right_truncation


def test_every_model_says_what_it_is():
    turn = TurnFactory()
    task, agent, project = turn.task, turn.task.agent, turn.task.agent.project
    history = ObjectiveHistoryFactory()
    event = EventFactory(event_type=EventType.HOOK_STOP)
    assert repr(project) == f"<Project 1 {project.slug!r}>"
    assert repr(agent) == f"<Agent 1 {agent.session_uuid}>"
    assert repr(task) == "<Task 1 commanded>"
    assert repr(turn) == "<Turn 1 user>"
    assert repr(event) == "<Event 1 hook_stop>"
    assert repr(history) == "<ObjectiveHistory 1>"
    assert repr(history.objective) == "<Objective 1>"
    assert repr(Task()) == "<Task None None>"  # not flushed: no id, no state yet
    assert repr(Turn()) == "<Turn None None>"


@pytest.mark.parametrize(
    ("make_parent", "children"),
    [
        (lambda: TurnFactory().task.agent.project, ("agents", "tasks", "turns")),
        (lambda: TurnFactory().task.agent, ("tasks", "turns")),
        (lambda: TurnFactory().task, ("turns",)),
        (lambda: ObjectiveHistoryFactory().objective, ("objective_histories",)),
    ],
)
def test_deleting_a_parent_leaves_its_children_to_the_database(make_parent, children):
    """One DELETE, no loading of children: ON DELETE CASCADE does the rest."""
    parent = make_parent()
    key = (type(parent), parent.id)
    db.session.expire_all()
    fresh = db.session.get(*key)
    statements = []

    def capture(_connection, _cursor, statement, *_rest):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        db.session.delete(fresh)
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    deletes = [s for s in statements if s.startswith("DELETE")]
    loads = [s for s in statements if s.startswith("SELECT") and any(c in s for c in children)]
    assert (len(deletes), loads) == (1, [])
    for table in children:
        assert db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
