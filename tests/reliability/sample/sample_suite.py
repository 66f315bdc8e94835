"""The sample suite: real writes, and (on request) pauses, slowness and leaks."""

import contextlib
import os
import threading
import time
import uuid

import pytest
from sqlalchemy import create_engine, text

from claude_headspace.database import db
from claude_headspace.models import Agent, Event, Project, Task, Turn, TurnActor, TurnIntent
from conftest import pause  # the sample's own conftest (its rootdir is on sys.path)


def write_chain() -> Project:
    project = Project(name="Sample", path=f"/sample/{uuid.uuid4()}")
    task = Task(agent=Agent(project=project, session_uuid=uuid.uuid4()))
    turn = Turn(task=task, actor=TurnActor.USER, intent=TurnIntent.COMMAND, text="go")
    db.session.add_all([project, turn])
    db.session.flush()
    db.session.add(Event(event_type="turn_detected", project_id=project.id, payload={"n": 1}))
    db.session.commit()
    return project


@pytest.mark.parametrize("n", range(6))
def test_chain(n):
    assert write_chain().id == 1  # every test starts from an empty database


def test_pause_point():
    write_chain()
    pause("test")
    assert db.session.execute(text("SELECT count(*) FROM projects")).scalar() == 1


@pytest.mark.skipif(not os.environ.get("SAMPLE_SLOW"), reason="SAMPLE_SLOW not set")
def test_slow():
    write_chain()
    time.sleep(float(os.environ["SAMPLE_SLOW"]))


LEAKS = pytest.mark.skipif(not os.environ.get("SAMPLE_LEAKS"), reason="SAMPLE_LEAKS not set")
KEEP = []  # what the leaking tests leave behind stays referenced


@LEAKS
def test_leaks_transaction():
    write_chain()
    connection = db.engine.connect()
    connection.execute(text("SELECT * FROM projects FOR UPDATE"))  # never committed
    KEEP.append(connection)


@LEAKS
def test_leaks_connection():
    engine = create_engine(db.engine.url)
    connection = engine.connect()  # never closed
    connection.execute(text("SELECT 1"))
    connection.commit()
    KEEP.append(connection)


@LEAKS
def test_leaks_thread(app):
    def query_forever():
        # Ended by the final DROP DATABASE ... WITH (FORCE): that is the point.
        with app.app_context(), contextlib.suppress(Exception):
            db.session.execute(text("SELECT pg_sleep(60)"))

    threading.Thread(target=query_forever, name="sleeper", daemon=False).start()
    time.sleep(0.3)


@pytest.mark.skipif(not os.environ.get("SAMPLE_END_CLAIM"), reason="SAMPLE_END_CLAIM not set")
def test_ends_the_runs_claim():
    """Ends every session holding one of the machinery's advisory locks (serial runs)."""
    write_chain()
    ended = db.session.execute(
        text(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_locks "
            "WHERE locktype = 'advisory' AND classid = 1213420612 AND pid <> pg_backend_pid()"
        )
    ).scalar()
    assert ended == 1


MISBEHAVES = pytest.mark.skipif(
    not os.environ.get("SAMPLE_MISBEHAVE"), reason="SAMPLE_MISBEHAVE not set"
)


@MISBEHAVES
def test_misbehaves():
    """Rows, a table of its own, a sequence option and a SET on the app's pooled connection."""
    write_chain()
    db.session.execute(text("CREATE TABLE junk (id int)"))
    db.session.execute(text("ALTER SEQUENCE projects_id_seq START 100 RESTART"))
    db.session.execute(text("SET session_replication_role = replica"))
    db.session.commit()


@MISBEHAVES
def test_after_the_misbehaviour():
    assert write_chain().id == 1
    assert db.session.execute(text("SELECT to_regclass('junk')")).scalar() is None
    role = db.session.execute(text("SHOW session_replication_role")).scalar()
    assert role == "origin"


SAMPLE_SQL = pytest.mark.skipif(not os.environ.get("SAMPLE_SQL"), reason="SAMPLE_SQL not set")


@SAMPLE_SQL
def test_runs_sample_sql():
    """What a reliability test asks a test to do: SAMPLE_SQL's statements (separated by
    ';;'; {db} is the test database's name), on the app's connection, committed."""
    write_chain()
    name = db.session.execute(text("SELECT current_database()")).scalar()
    for statement in os.environ["SAMPLE_SQL"].split(";;"):
        db.session.execute(text(statement.replace("{db}", f'"{name}"')))
    db.session.commit()


@SAMPLE_SQL
def test_after_the_sample_sql():
    """The next test starts from the state every test starts from."""
    assert write_chain().id == 1


@pytest.mark.skipif(
    not os.environ.get("SAMPLE_HOLD_DATABASE_LOCK"), reason="SAMPLE_HOLD_DATABASE_LOCK not set"
)
def test_holds_a_lock_on_its_database_from_elsewhere():
    """An ALTER DATABASE left uncommitted on the maintenance database: a lock on the test
    database that no session inside it holds (DROP … WITH (FORCE) ends only those). A
    table of its own makes the database be rebuilt (dropped) right after the test."""
    write_chain()
    name = db.session.execute(text("SELECT current_database()")).scalar()
    engine = create_engine(db.engine.url.set(database="postgres"))
    connection = engine.connect()
    connection.execute(text(f"ALTER DATABASE \"{name}\" SET work_mem = '64MB'"))  # no commit
    KEEP.append(connection)
    db.session.execute(text("CREATE TABLE junk_of_the_lock_holder (id int)"))
    db.session.commit()


@pytest.mark.skipif(
    not os.environ.get("SAMPLE_PREPARED_TRANSACTION"), reason="SAMPLE_PREPARED_TRANSACTION not set"
)
def test_leaves_a_prepared_transaction():
    """A two-phase transaction prepared and never finished: it outlives its session and
    holds the row lock it took (on a server with max_prepared_transactions > 0)."""
    project = write_chain()
    engine = create_engine(db.engine.url)
    with engine.connect() as connection:
        connection.execute(
            text("SELECT * FROM projects WHERE id = :id FOR UPDATE"), {"id": project.id}
        )
        connection.execute(text("PREPARE TRANSACTION 'sample_left_this'"))
    engine.dispose()
