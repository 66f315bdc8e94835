"""Isolation beyond rows: whatever a test does, the database goes back to the built state.

Each test here misbehaves the way a real test might, then runs the same reset the
plugin runs after every test, and asserts on it: the report names what changed, and
the database is again exactly what the session built (schema, empty tables, ids from
1, no session state). The plugin's own reset after each of them then has nothing left
to do. CI runs them under both cleanup strategies, -n auto and random order.
"""

import re
import threading
import uuid

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from claude_headspace.database import db
from pytest_flask_pgdb.reset.cleanup import leftovers
from pytest_flask_pgdb.reset.fence import FencedThreadError
from pytest_flask_pgdb.reset.isolation import take_listing
from tests.integration.factories import ProjectFactory, TurnFactory

pytestmark = pytest.mark.changes_schema  # the plugin's own reset stays silent


@pytest.fixture(scope="module")
def built(app):
    """The listing of the schema as the session built it."""
    with app.app_context(), db.engine.connect() as connection:
        return take_listing(connection)


@pytest.fixture
def reset(pgdb_reset):
    return pgdb_reset


def assert_as_built(built):
    with db.engine.connect() as connection:
        assert take_listing(connection) == built
        assert leftovers(connection, db.metadata) == {}
        state = connection.execute(
            text("SELECT current_setting('session_replication_role')")
        ).scalar()
        assert state == "origin"
    assert ProjectFactory().id == 1


RACED_PING = re.compile(
    r"1 database session\(s\) in a transaction \(terminated\): pid \d+ "
    r"\(idle in transaction, last query: '(BEGIN|SELECT 1)'\)"  # the ping's two statements
)


def only(outcome, phrase):
    assert outcome.stop is None
    assert len(outcome.left) == 1, outcome.left
    assert phrase in outcome.left[0], outcome.left
    return outcome.left[0]


def test_a_table_of_its_own_with_rows(reset, built):
    db.session.execute(text("CREATE TABLE junk (id serial PRIMARY KEY, note text)"))
    db.session.execute(text("INSERT INTO junk (note) SELECT 'x' FROM generate_series(1, 5)"))
    db.session.commit()
    only(reset(), "table public.junk created")
    assert_as_built(built)


def test_sequence_options_altered(reset, built):
    db.session.execute(text("ALTER SEQUENCE projects_id_seq START 100 INCREMENT 7 RESTART"))
    db.session.commit()
    assert ProjectFactory().id == 100
    message = only(reset(), "sequence public.projects_id_seq altered")
    assert "start 1 increment 1" in message
    assert "start 100 increment 7" in message
    assert_as_built(built)


def test_a_table_dropped(reset, built):
    db.session.execute(text("DROP TABLE turns CASCADE"))
    db.session.commit()
    only(reset(), "table public.turns dropped")
    assert_as_built(built)
    assert TurnFactory().id == 1


def test_drop_all(reset, built):
    db.session.remove()
    db.drop_all()
    message = only(reset(), "the database changed beyond its rows (rebuilt)")
    for table in ("projects", "agents", "tasks", "turns", "events", "objectives"):
        assert f"table public.{table} dropped" in message
    assert_as_built(built)


def test_session_replication_role_on_a_pooled_connection(reset, built):
    db.session.execute(text("SET session_replication_role = replica"))
    db.session.commit()  # the connection goes back to the pool with the setting
    only(reset(), "SET session_replication_role = replica")
    assert_as_built(built)
    orphan = text("INSERT INTO agents (session_uuid, project_id) VALUES (:u, 999)")
    with pytest.raises(IntegrityError):  # foreign keys are enforced again
        db.session.execute(orphan, {"u": uuid.uuid4()})
    db.session.rollback()


@pytest.mark.parametrize(
    ("statement", "phrase"),
    [
        (
            "ALTER TABLE agents DISABLE TRIGGER ALL",
            "of fk_agents_project_id_projects on public.agents",
        ),
        (
            "ALTER TABLE agents DROP CONSTRAINT fk_agents_project_id_projects",
            "constraint public.agents.fk_agents_project_id_projects dropped",
        ),
    ],
    ids=["triggers-disabled", "foreign-key-dropped"],
)
def test_foreign_keys_unenforced(reset, built, statement, phrase):
    db.session.execute(text(statement))
    db.session.commit()
    only(reset(), phrase)
    assert_as_built(built)
    orphan = text("INSERT INTO agents (session_uuid, project_id) VALUES (:u, 999)")
    with pytest.raises(IntegrityError):  # enforced again
        db.session.execute(orphan, {"u": uuid.uuid4()})
    db.session.rollback()


def test_database_and_session_state_and_rows_at_once(reset, built, pgdb_database):
    ProjectFactory.create_batch(3)
    db.session.execute(text("CREATE TABLE junk (id int)"))
    db.session.execute(text(f"ALTER DATABASE {pgdb_database.name} SET work_mem = '1MB'"))
    db.session.execute(text("PREPARE leftover AS SELECT 1"))
    db.session.commit()
    outcome = reset()
    assert outcome.stop is None
    text_of = " | ".join(outcome.left)
    assert "prepared statement leftover" in text_of
    assert "table public.junk created" in text_of
    assert "setting database" in text_of
    assert_as_built(built)


def test_a_thread_that_keeps_writing_is_fenced_off(app, reset, built):
    stop, wrote, errors = threading.Event(), threading.Event(), []

    def ghost_writer():
        with app.app_context():
            while not stop.is_set():
                try:
                    ProjectFactory()
                    wrote.set()
                except FencedThreadError as exc:
                    errors.append(exc)
                    return
                except Exception:
                    db.session.rollback()
                stop.wait(0.01)  # a pace, not a synchronisation: it writes ~100 times a second

    writer = threading.Thread(target=ghost_writer, name="ghost-writer", daemon=True)
    writer.start()
    try:
        assert wrote.wait(10), "the writer never wrote"
        outcome = reset()
        assert outcome.stop is None
        assert outcome.left[0] == "1 thread(s) running: ghost-writer (fenced off the database)"
        # Known race (seen once in CI, TRUNCATE): the writer's next checkout pings its
        # pooled connection (pool_pre_ping opens a transaction) before the checkout event
        # refuses it; a cleanup that runs in that moment ends that session and says so.
        assert all(RACED_PING.fullmatch(line) for line in outcome.left[1:]), outcome.left
        # Its next write after the fence fails, and the thread ends on that failure.
        writer.join(10)
        assert not writer.is_alive()
        assert errors
        assert "started by tests/machinery/test_misbehaving_tests.py::" in str(errors[0])
        with db.engine.connect() as connection:
            assert leftovers(connection, db.metadata) == {}
    finally:
        stop.set()
    assert_as_built(built)


def test_a_thread_caught_making_a_connection_loses_that_connection(app, reset, built):
    """A fence that goes up while a thread makes a new connection ends that one too.

    (Once a race in CI: the connection was not yet counted as the thread's, so it
    outlived the fence and later showed up as another test's leftover session.)
    """
    connecting, release, caught = threading.Event(), threading.Event(), []

    def hold(dbapi_connection, _record):  # runs after the watch's own connect listener
        if threading.current_thread().name == "late-connector":
            caught.append(dbapi_connection.get_backend_pid())
            connecting.set()
            release.wait(10)

    def late_connector():
        with app.app_context():
            try:
                db.session.execute(text("SELECT 1"))
            except Exception as exc:  # what it raises is asserted below
                caught.append(exc)

    # The pool's first connect runs its listeners under a lock, so make it here; holding
    # that connection makes the thread make a new one.
    db.engine.dispose()
    held = db.engine.connect()
    event.listen(db.engine, "connect", hold)
    thread = threading.Thread(target=late_connector, name="late-connector", daemon=True)
    try:
        thread.start()
        assert connecting.wait(10)
        only(reset(), "1 thread(s) running: late-connector (fenced off the database)")
        alive = held.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": caught[0]}
        ).scalar()
        assert alive == 0
    finally:
        release.set()
        thread.join(10)
        event.remove(db.engine, "connect", hold)
        held.close()
    assert isinstance(caught[1], FencedThreadError)
    assert_as_built(built)


def test_ending_the_other_sessions_of_its_database_is_not_a_server_outage(reset, built):
    ProjectFactory()
    ended = db.session.execute(
        text(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    ).scalar()
    assert ended >= 1  # at least the cleaner's session
    outcome = reset()
    assert outcome.stop is None
    assert any("the cleaner's database session ended" in what for what in outcome.left)
    assert not any("went away" in what for what in outcome.left)
    assert_as_built(built)


def test_a_role_created_then_dropped_on_the_server_is_named_each_time(reset, built):
    """Outside the database: named once, left as is (it may be anyone's), never a rebuild."""
    role = f"probe_{uuid.uuid4().hex[:12]}"
    db.session.execute(text(f"CREATE ROLE {role}"))
    db.session.commit()
    try:
        created = only(reset(), f"role {role!r} created on the server")
        assert "by this test, or one running beside it" in created
        assert "settings" not in created
        assert reset().left == []  # taken as the new normal: named once
    finally:
        db.session.execute(text(f"DROP ROLE IF EXISTS {role}"))
        db.session.commit()
    only(reset(), f"role {role!r} dropped on the server")
    assert_as_built(built)
