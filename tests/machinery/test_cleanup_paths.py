"""The cleaner's less travelled paths, each forced on purpose and asserted on.

What leftovers() says, row by row and sequence by sequence; a session that blocks the
cleanup past its lock timeout; connections a test opens and leaves; the periodic VACUUM.
"""

import contextlib
import threading
import time

import psycopg2
import pytest
from benchmarks.realistic_schema import realistic_metadata, write_rows
from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, event, text

from claude_headspace.database import db
from pytest_flask_pgdb.databases.connections import admin_connection
from pytest_flask_pgdb.reset import cleanup
from pytest_flask_pgdb.reset.cleanup import CleanupReport, DatabaseCleaner, leftovers
from pytest_flask_pgdb.settings import CLEANUP_SETTING, CLEANUP_STRATEGIES, read_settings


@pytest.fixture
def connection(pgdb_database):
    with admin_connection(pgdb_database.url) as connection:
        yield connection


def new_cleaner(connection, pgdb_database, strategy="delete", **options):
    """A cleaner given its strategy as the plugin gives it: read from a setting."""
    configured = read_settings(
        {CLEANUP_SETTING: f" {strategy} "}, ini={"base_name": "x"}
    ).cleanup  # not a literal
    return DatabaseCleaner(connection, db.metadata, configured, run=pgdb_database.run, **options)


@pytest.fixture
def cleaner(connection, pgdb_database):
    return new_cleaner(connection, pgdb_database)


def raw_connection(pgdb_database):
    """A driver connection outside every pool, as a test might open one."""
    dialect = db.engine.dialect
    args, params = dialect.create_connect_args(pgdb_database.url)
    return dialect.loaded_dbapi.connect(*args, **params)


def state_of(connection, pid):
    with connection.cursor() as cursor:
        cursor.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,))
        [state] = cursor.fetchone()
    connection.rollback()  # a fresh snapshot of the activity next time
    return state


def wait_until_busy(watcher, connection):
    """Until the server shows ``connection`` running a query (polled: it is another process)."""
    deadline = time.monotonic() + 5
    while state_of(watcher, connection.get_backend_pid()) != "active":
        assert time.monotonic() < deadline, "the session never got busy"
        time.sleep(0.01)


def test_leftovers_name_rows_and_sequences_apart(connection):
    assert leftovers(connection, db.metadata) == {}
    connection.execute(text("INSERT INTO objectives (id, current_text) VALUES (5, 'a'), (6, 'b')"))
    assert leftovers(connection, db.metadata) == {"objectives": "2 rows"}
    connection.execute(text("DELETE FROM objectives"))
    connection.execute(text("SELECT nextval('projects_id_seq'), nextval('projects_id_seq')"))
    assert leftovers(connection, db.metadata) == {"projects_id_seq": "at 2"}
    connection.execute(text("SELECT setval('projects_id_seq', 1, false)"))
    assert leftovers(connection, db.metadata) == {}


def test_a_session_busy_past_the_lock_timeout_is_ended_and_reported(pgdb_database, pgdb_cleaner):
    """The run's own cleaner: it ends every other session, and it is not one of them."""
    cleaner = pgdb_cleaner
    blocker = raw_connection(pgdb_database)
    watcher = raw_connection(pgdb_database)
    blocker.cursor().execute("BEGIN; LOCK TABLE projects IN ACCESS EXCLUSIVE MODE")
    failures = []

    def stay_busy():
        try:
            blocker.cursor().execute("SELECT pg_sleep(60)")  # active, not idle: not a leak
        except psycopg2.Error as exc:
            failures.append(exc)

    busy = threading.Thread(target=stay_busy, daemon=True)
    busy.start()
    wait_until_busy(watcher, blocker)
    # The 2 s, shortened; then put back as found (not as shipped: a later test checks that
    # the cleaner set the shipped value itself).
    found = cleaner.connection.scalar(text("SHOW lock_timeout"))
    cleaner.connection.exec_driver_sql("SET lock_timeout = '200ms'")
    try:
        report = cleaner.clean()  # blocked past the lock timeout: it ends every other session
    finally:
        cleaner.connection.execute(
            text("SELECT set_config('lock_timeout', :v, false)"), {"v": found}
        )
    busy.join(10)
    assert not busy.is_alive()
    assert failures, "the busy session was not ended"
    # Every other session of the database is ended (the app's pooled ones too).
    [busy_report] = report.leaked
    assert busy_report.endswith(" busy session(s) blocking the cleanup")
    assert int(busy_report.split()[0]) >= 1
    blocker.close()
    watcher.close()
    with admin_connection(pgdb_database.url) as fresh:  # ``connection`` was ended too
        assert leftovers(fresh, db.metadata) == {}


def test_the_cleaner_gives_up_on_a_held_lock_after_its_shipped_timeout(pgdb_database, pgdb_cleaner):
    """The lock wait as shipped (not shortened, as the test above does): a session that
    stays busy holding a table's lock is ended after it, and the cleanup completes. (The
    administrative connection it runs on has every timeout off: without its own the
    cleaner would wait as long as the session.) The run's own cleaner, as above."""
    cleaner = pgdb_cleaner
    assert cleaner.connection.scalar(text("SHOW lock_timeout")) == cleanup.LOCK_TIMEOUT
    blocker, watcher = raw_connection(pgdb_database), raw_connection(pgdb_database)
    blocker.cursor().execute("BEGIN; LOCK TABLE projects IN ACCESS EXCLUSIVE MODE")
    busy = threading.Thread(target=_stay_busy, args=(blocker,), daemon=True)
    busy.start()
    wait_until_busy(watcher, blocker)
    reports: list[CleanupReport] = []
    cleaning = threading.Thread(target=lambda: reports.append(cleaner.clean()), daemon=True)
    cleaning.start()
    cleaning.join(60)  # a hang guard, not a timing: the shipped wait is seconds
    assert not cleaning.is_alive(), "the cleaner waited on the lock without bound"
    assert reports[0].leaked[-1].endswith(" busy session(s) blocking the cleanup")
    blocker.close()
    watcher.close()


def _stay_busy(connection):
    with contextlib.suppress(psycopg2.Error):  # ended by the cleaner
        connection.cursor().execute("SELECT pg_sleep(60)")


def test_a_connection_the_test_leaves_open_is_reported_once_by_pid(pgdb_database, cleaner):
    cleaner.clean()  # what is connected now is known
    left_open = raw_connection(pgdb_database)
    try:
        pid = left_open.get_backend_pid()
        assert cleaner.clean().opened == [pid]
        assert cleaner.clean().opened == []  # known by now: reported once
    finally:
        left_open.close()


def test_a_connection_closed_before_the_cleanup_is_no_leak(pgdb_database, cleaner):
    cleaner.clean()
    closed = raw_connection(pgdb_database)
    closed.close()  # its backend may still be exiting when the cleanup looks
    assert cleaner.clean().opened == []


def test_a_connection_that_ends_while_the_cleaner_looks_again_is_no_leak(
    pgdb_database, cleaner, connection
):
    """A backend still exiting when the cleanup lists sessions is looked at again.

    The connection closes only once the server shows the cleaner asking again about
    the pids it found: a cleaner that gave no grace would report it as opened.
    """
    cleaner.clean()
    closing = raw_connection(pgdb_database)
    cleaner_pid = connection.scalar(text("SELECT pg_backend_pid()"))
    watcher = raw_connection(pgdb_database)
    watcher.autocommit = True  # never idle in a transaction: the cleanup would end it
    asked_again, cleaned = threading.Event(), threading.Event()

    def close_when_asked_again():
        while not cleaned.is_set():  # the server is another process: polled, briefly
            with watcher.cursor() as cursor:
                cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (cleaner_pid,))
                [query] = cursor.fetchone()
            if "pid = ANY" in query:
                asked_again.set()
                break
            time.sleep(0.005)
        closing.close()

    cleaner.expected_pids.add(watcher.get_backend_pid())
    closer = threading.Thread(target=close_when_asked_again, daemon=True)
    closer.start()
    try:
        report = cleaner.clean()
    finally:
        cleaned.set()
        closer.join(10)
        watcher.close()
    assert asked_again.is_set(), "the cleaner never looked again at the new connection"
    assert report.opened == []


def test_an_expected_connection_is_no_leak(pgdb_database, cleaner):
    cleaner.clean()
    pooled = raw_connection(pgdb_database)
    try:
        cleaner.expected_pids.add(pooled.get_backend_pid())
        assert cleaner.clean().opened == []
    finally:
        pooled.close()


def vacuum_counts(connection):
    """How often each table was vacuumed, as the statistics say once they are flushed."""
    connection.execute(text("SELECT pg_stat_clear_snapshot()"))
    return dict(
        connection.execute(
            text(
                "SELECT relname, vacuum_count FROM pg_stat_user_tables WHERE schemaname = 'public'"
            )
        ).all()
    )


@pytest.mark.parametrize(("strategy", "vacuumed"), [("delete", 1), ("truncate", 0)])
def test_the_delete_strategy_vacuums_every_so_many_cleanups(
    monkeypatch, connection, pgdb_database, strategy, vacuumed
):
    period = 4
    monkeypatch.setattr(cleanup, "VACUUM_EVERY", period)
    cleaner = new_cleaner(connection, pgdb_database, strategy)
    before = vacuum_counts(connection)
    for cleanups in range(1, 2 * period + 1):  # two periods, checked after every cleanup
        cleaner.clean()
        times = vacuumed * (cleanups // period)
        expected = {table: count + times for table, count in before.items()}
        deadline = time.monotonic() + 5  # statistics reach the shared view within ~1 s
        while vacuum_counts(connection) != expected and time.monotonic() < deadline:
            time.sleep(0.1)
        assert vacuum_counts(connection) == expected, f"after {cleanups} cleanups"


def test_a_vacuum_a_busy_session_blocks_is_skipped_and_the_tables_still_emptied(
    monkeypatch, connection, pgdb_database
):
    """VACUUM waits for a lock a DELETE does not need; past the lock timeout it is skipped."""
    monkeypatch.setattr(cleanup, "VACUUM_EVERY", 1)
    cleaner = new_cleaner(connection, pgdb_database)
    connection.exec_driver_sql("SET lock_timeout = '200ms'")  # the cleaner's 2 s, shortened
    connection.execute(text("INSERT INTO objectives (current_text) VALUES ('kept busy')"))
    holder = raw_connection(pgdb_database)
    watcher = raw_connection(pgdb_database)
    holder.cursor().execute("BEGIN; LOCK TABLE projects IN SHARE UPDATE EXCLUSIVE MODE")
    busy = threading.Thread(
        target=lambda: _until_cancelled(holder, "SELECT pg_sleep(60)"), daemon=True
    )
    busy.start()
    wait_until_busy(watcher, holder)
    try:
        report = cleaner.clean()  # DELETE is not blocked; VACUUM waits, then gives up
        assert state_of(watcher, holder.get_backend_pid()) == "active"  # not ended
    finally:
        holder.cancel()
        busy.join(10)
        holder.close()
        watcher.close()
    assert report == CleanupReport()  # nothing leaked, nothing but rows changed
    assert leftovers(connection, db.metadata) == {}


def _until_cancelled(connection, statement):
    with contextlib.suppress(psycopg2.extensions.QueryCanceledError):
        connection.cursor().execute(statement)


@pytest.mark.parametrize("count_ddl", [True, False], ids=["event-trigger", "catalog-check"])
@pytest.mark.parametrize("strategy", ["delete", "truncate"])
def test_a_cleanup_is_one_round_trip_test_after_test(
    connection, pgdb_database, strategy, count_ddl
):
    """The module's promise: each cleanup of an unchanged schema is one statement.

    TRUNCATE gives tables new files, which moves the catalog check: a cleaner that kept
    the check from before its TRUNCATE would take the next test for a schema change and
    read the whole listing.
    """
    cleaner = new_cleaner(connection, pgdb_database, strategy, count_ddl=count_ddl)
    statements = []
    event.listen(connection, "before_cursor_execute", lambda *args: statements.append(args[2]))
    for number in range(3):
        connection.execute(text("INSERT INTO objectives (current_text) VALUES (:t)"), {"t": number})
        statements.clear()
        report = cleaner.clean()
        assert report == CleanupReport(), f"cleanup {number + 1}"
        assert len(statements) == 1, f"cleanup {number + 1} sent {statements}"
        assert leftovers(connection, db.metadata) == {}


@pytest.mark.parametrize(("strategy", "new_files"), [("delete", False), ("truncate", True)])
def test_each_strategy_empties_the_tables_its_own_way(
    connection, pgdb_database, strategy, new_files
):
    """TRUNCATE gives every table a new file; DELETE removes rows and keeps the file."""
    cleaner = new_cleaner(connection, pgdb_database, strategy)
    files = "SELECT pg_relation_filenode('projects'), pg_relation_filenode('turns')"
    before = connection.execute(text(files)).one()
    connection.execute(text("INSERT INTO objectives (current_text) VALUES ('a')"))
    assert cleaner.clean() == CleanupReport()
    after = connection.execute(text(files)).one()
    assert [old != new for old, new in zip(before, after, strict=True)] == [new_files] * 2
    assert leftovers(connection, db.metadata) == {}


@pytest.mark.parametrize("strategy", CLEANUP_STRATEGIES)
def test_a_realistic_schema_with_a_restrict_cycle_is_emptied(pgdb_make_database, strategy):
    """26 tables, self-references, wide tables, accounts <-> contacts ON DELETE RESTRICT:
    both strategies reach the TRUNCATE state (children-first order alone cannot)."""
    metadata = realistic_metadata()
    database = pgdb_make_database(f"realistic_{strategy}")
    database.build_schema(metadata)
    with admin_connection(database.url) as connection:
        cleaner = DatabaseCleaner(connection, metadata, strategy, run=database.run)
        for _ in range(2):  # the second round starts from what the first left
            write_rows(connection)
            assert connection.scalar(text("SELECT primary_contact_id FROM accounts")) == 1
            report = cleaner.clean()
            assert (report.leaked, report.schema_changes) == ([], [])
            assert leftovers(connection, metadata) == {}


def test_a_cycle_of_not_null_deferrable_keys_is_emptied_by_delete(pgdb_make_database):
    """No key of the cycle can be set NULL: the deletes run with the keys deferred."""
    metadata = MetaData()
    Table(
        "hens",
        metadata,
        Column("id", Integer, primary_key=True),
        Column(
            "egg_id",
            ForeignKey("eggs.id", deferrable=True, initially="IMMEDIATE", use_alter=True),
            nullable=False,
        ),
    )
    Table(
        "eggs",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("hen_id", ForeignKey("hens.id", deferrable=True), nullable=False),
    )
    database = pgdb_make_database("deferrable_cycle")
    database.build_schema(metadata)
    with admin_connection(database.url) as connection:
        cleaner = DatabaseCleaner(connection, metadata, "delete", run=database.run)
        connection.exec_driver_sql(
            "BEGIN; SET CONSTRAINTS ALL DEFERRED; INSERT INTO hens (egg_id) VALUES (1); "
            "INSERT INTO eggs (hen_id) VALUES (1); COMMIT"
        )
        assert connection.scalar(text("SELECT count(*) FROM hens JOIN eggs USING (id)")) == 1
        assert cleaner.clean().schema_changes == []
        assert leftovers(connection, metadata) == {}


def test_reconnecting_closes_the_connection_it_leaves(pgdb_database, cleaner):
    old = cleaner.connection
    cleaner.reconnect()
    try:
        assert old.closed
        assert not cleaner.connection.closed
        assert cleaner.clean().leaked == []
    finally:
        cleaner.connection.close()  # the new one is the test's to close
