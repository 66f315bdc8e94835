"""Isolation without savepoints: whatever a test does, the reset after it empties all.

Every test here dirties the database a different way: ORM commit, rollback, a second
connection, a thread, raw SQL with explicit ids, a transaction left open. After each,
``reset_after_it`` runs the reset the plugin runs after every test and asserts the
TRUNCATE state itself (all tables empty, every sequence back at 1): no test relies on
the next one to notice. pytest-randomly shuffles their order; CI runs them under both
cleanup strategies.
"""

import threading
import uuid

import pytest
from sqlalchemy import text

from claude_headspace.database import db
from pytest_flask_pgdb.reset.cleanup import leftovers
from tests.integration.factories import (
    ALL_FACTORIES,
    ObjectiveHistoryFactory,
    ProjectFactory,
    TurnFactory,
)


def assert_truncate_state():
    with db.engine.connect() as connection:
        assert leftovers(connection, db.metadata) == {}


@pytest.fixture(autouse=True)
def reset_after_it(pgdb_reset):
    """The test starts in the TRUNCATE state and the reset after it gets back to it."""
    assert_truncate_state()
    yield
    outcome = pgdb_reset()
    assert outcome.stop is None
    assert_truncate_state()
    while LEAKED:  # the leaked session was ended by the reset, and reported
        leaked = LEAKED.pop()
        assert _is_ended(leaked)
        leaked.close()
        assert [w for w in outcome.left if "1 database session(s) in a transaction" in w], (
            outcome.left
        )


def _is_ended(connection):
    try:
        connection.cursor().execute("SELECT 1")
    except Exception:
        return True
    return False


def test_orm_commit_in_every_table():
    for factory_class in ALL_FACTORIES:
        factory_class()
    TurnFactory.create_batch(3)
    ObjectiveHistoryFactory.create_batch(2)
    assert ProjectFactory().id > 1


def test_ids_start_at_one_in_every_table():
    turn = TurnFactory()
    history = ObjectiveHistoryFactory()
    assert (turn.id, turn.task.id, turn.task.agent.id, turn.task.agent.project.id) == (1, 1, 1, 1)
    assert (history.id, history.objective.id) == (1, 1)


def test_rolled_back_work_still_moves_sequences():
    ProjectFactory.build()  # not persisted
    db.session.add(ProjectFactory.build())
    db.session.flush()  # nextval() ran; the rollback does not undo it
    db.session.rollback()


def test_second_connection_commits():
    engine = db.engine
    with engine.begin() as other:
        other.execute(text("INSERT INTO objectives (current_text) VALUES ('from elsewhere')"))
    assert db.session.execute(text("SELECT count(*) FROM objectives")).scalar() == 1


def test_thread_commits_through_its_own_session(app):
    def work():
        with app.app_context():
            ProjectFactory(name="from a thread")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=10)
    assert db.session.execute(text("SELECT name FROM projects")).scalar() == "from a thread"


def test_raw_sql_with_explicit_ids_and_advanced_sequences():
    db.session.execute(
        text("INSERT INTO projects (id, name, slug, path) VALUES (42, 'raw', 'raw', '/raw')")
    )
    db.session.execute(text("SELECT setval('agents_id_seq', 500)"))
    db.session.execute(
        text("INSERT INTO agents (session_uuid, project_id) VALUES (:u, 42)"), {"u": uuid.uuid4()}
    )
    db.session.commit()
    assert db.session.execute(text("SELECT id FROM agents")).scalar() == 501


LEAKED = []  # keeps the leaked connection open until the cleanup has run


def test_transaction_left_open_holding_locks():
    ProjectFactory()
    # A raw driver connection (no pool) locks the row and is never closed or rolled
    # back: the cleanup must not hang on it, and must end it.
    cargs, cparams = db.engine.dialect.create_connect_args(db.engine.url)
    leaked = db.engine.dialect.loaded_dbapi.connect(*cargs, **cparams)
    leaked.cursor().execute("SELECT * FROM projects FOR UPDATE")
    LEAKED.append(leaked)


def test_uncommitted_orm_work_is_discarded():
    db.session.add(ProjectFactory.build())
    db.session.flush()
