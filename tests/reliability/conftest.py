"""Reliability: whole pytest runs in subprocesses, against a cluster of our own.

The cluster holds what a developer would have: a database named claude_headspace
with rows (and DATABASE_URL pointing at it), another application's database, a user
with a password and one without CREATEDB. Each test fingerprints every non-test
database before and after what it does.
"""

import uuid

import pytest
from sqlalchemy import text

import claude_headspace.models  # noqa: F401  -- every table on db.metadata
from claude_headspace.database import db
from pytest_flask_pgdb.databases import cluster
from pytest_flask_pgdb.databases.connections import admin_connection, admin_engine
from tests.reliability.harness import (
    APP_PASSWORD,
    APP_USER,
    DEVELOPER_DATABASE,
    NO_CREATEDB_USER,
    OTHER_DATABASE,
    Reliability,
    remove_caches,
)


def _execute(url, *statements):
    with admin_connection(url) as connection:
        for statement in statements:
            connection.execute(text(statement))


def _seed(server: cluster.PrivateCluster) -> None:
    _execute(
        server.url(),
        f"CREATE DATABASE {DEVELOPER_DATABASE}",
        f"CREATE DATABASE {OTHER_DATABASE}",
        f"CREATE ROLE {APP_USER} LOGIN CREATEDB PASSWORD '{APP_PASSWORD}'",
        f"CREATE ROLE {NO_CREATEDB_USER} LOGIN",
    )
    engine = admin_engine(server.url(DEVELOPER_DATABASE))
    db.metadata.create_all(engine)
    engine.dispose()
    _execute(
        server.url(DEVELOPER_DATABASE),
        "INSERT INTO projects (name, slug, path) "
        "SELECT 'Project ' || n, 'project-' || n, '/src/' || n FROM generate_series(1, 20) n",
        "INSERT INTO agents (session_uuid, project_id) "
        "SELECT gen_random_uuid(), 1 + n % 20 FROM generate_series(1, 40) n",
        "INSERT INTO events (event_type, payload) "
        "SELECT 'hook_received', jsonb_build_object('n', n) FROM generate_series(1, 100) n",
    )
    _execute(
        server.url(OTHER_DATABASE),
        "CREATE TABLE invoices (id serial PRIMARY KEY, amount numeric)",
        "INSERT INTO invoices (amount) SELECT n * 1.5 FROM generate_series(1, 30) n",
    )
    # The password user must really authenticate; everyone else logs in by peer.
    hba = server.data / "pg_hba.conf"
    hba.write_text(f"local all {APP_USER} scram-sha-256\nlocal all all trust\n")
    _execute(server.url(), "SELECT pg_reload_conf()")


@pytest.fixture(scope="session")
def reliability(tmp_path_factory) -> Reliability:
    bindir, looked = cluster.find_binaries()
    assert bindir is not None, (
        f"the reliability suite needs PostgreSQL binaries; looked in {looked}"
    )
    server = cluster.acquire(bindir, run=f"reliability-{uuid.uuid4().hex}")
    try:
        _seed(server)
        yield Reliability(server, tmp_path_factory.mktemp("runs"))
    finally:
        cluster.release(server)


@pytest.fixture
def developer_data_is_untouched(reliability):
    """Fingerprint every non-test database before the test; compare after it."""
    before = reliability.fingerprint()
    assert DEVELOPER_DATABASE in before
    assert OTHER_DATABASE in before
    yield
    assert reliability.fingerprint() == before
    assert reliability.databases() == [], "a run left test databases behind"
    remove_caches(reliability.url())  # templates and kept databases: the next test builds its own
