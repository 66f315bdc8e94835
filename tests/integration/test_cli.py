"""flask prepare-db (what nox -s serve runs): create + migrate, or one line and go on."""

import pytest
from sqlalchemy import text

from claude_headspace import create_app
from claude_headspace.connections import admin_connection
from claude_headspace.database import db


def run_prepare_db(url):
    app = create_app(database_url=url.render_as_string(hide_password=False))
    # Flask's CLI reuses an app context that is already pushed (here: the test's own).
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["prepare-db"])
    with app.app_context():
        db.engine.dispose()
    return result


@pytest.fixture
def nowhere(pgdb_database):
    return pgdb_database.url.set(host="127.0.0.1", port=1, query={})  # nothing listens on 1


def test_with_no_server_it_says_so_in_one_line_and_succeeds(nowhere):
    result = run_prepare_db(nowhere)
    assert result.exit_code == 0
    assert result.stderr.count("\n") == 1
    assert "no PostgreSQL server answers at 127.0.0.1:1" in result.stderr
    assert "starts degraded" in result.stderr


def test_a_refused_login_gets_the_login_advice(pgdb_database):
    result = run_prepare_db(pgdb_database.url.set(username="nobody_such_role"))
    assert result.exit_code == 0
    assert "refused user 'nobody_such_role'" in result.stderr
    assert "no PostgreSQL server answers" not in result.stderr


def test_an_existing_empty_database_is_migrated_to_head(pgdb_make_database, pgdb_migrations):
    database = pgdb_make_database("prepare")  # marked, empty, dropped at the end
    result = run_prepare_db(database.url)
    assert result.exit_code == 0, result.output + result.stderr
    assert "is at the newest revision" in result.stdout
    with admin_connection(database.url) as connection:
        revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
    assert revision == pgdb_migrations.script_directory().get_current_head()
