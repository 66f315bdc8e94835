"""Settings at their edges: defaults as shipped, how much of a bad value an error quotes,
which value it names, what crosses to xdist workers (what a mutation run found unpinned)."""

import dataclasses
import json

import pytest
from sqlalchemy.engine import make_url

from pytest_flask_pgdb import AppDatabase, SettingsError
from pytest_flask_pgdb.settings import read_settings

pytest_plugins = ["pytester"]

BASE = {"ini": {"base_name": "shop"}}


def message(env, **options):
    with pytest.raises(SettingsError) as err:
        read_settings(env, **{**BASE, **options})
    return err.value.message


def test_the_defaults_as_shipped():
    s = read_settings({}, **BASE)
    assert (s.lock_wait, s.cleanup, s.server_mode, s.namespace) == (5.0, "delete", "auto", "")


def test_settings_once_read_cannot_be_changed():
    s = read_settings({}, **BASE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.cleanup = "truncate"
    app = AppDatabase(url=make_url("postgresql://u@h/shop"), source="DATABASE_URL")
    with pytest.raises(dataclasses.FrozenInstanceError):
        app.source = "elsewhere"


@pytest.mark.parametrize("wait", ["-0.5", "-1", "3600.5", "nan", "inf"])
def test_a_lock_wait_outside_0_to_an_hour_is_refused(wait):
    assert "TEST_DATABASE_LOCK_WAIT must be a number of seconds from 0 to 3600" in message(
        {"TEST_DATABASE_LOCK_WAIT": wait}
    )
    assert read_settings({"TEST_DATABASE_LOCK_WAIT": "0"}, **BASE).lock_wait == 0


def test_what_xdist_workers_get_is_plain_data():
    """execnet carries plain data only (a Path or a URL would not cross to the workers);
    JSON takes no more than it does."""
    s = read_settings({"TEST_DATABASE_PG_BINDIR": "/usr/lib/postgresql/15/bin"}, **BASE)
    wire = s.to_wire()
    assert json.loads(json.dumps(wire)) == wire
    assert s.from_wire(wire) == s


def test_a_module_importing_the_settings_class_collects_no_tests_from_it(pytester):
    pytester.makepyfile("from pytest_flask_pgdb.settings import TestSettings\n")
    result = pytester.runpytest("--disable-plugin-autoload", "-W", "error")
    result.assert_outcomes()  # no test, no "cannot collect test class" warning
    assert "TestSettings" not in result.stdout.str()


# A bad value is quoted, cut at a length: the first characters up to it, none after.
def garbage(length):
    return "x" * (length - 1) + "Y" + "Z" * 50


@pytest.mark.parametrize(
    ("length", "env", "options"),
    [
        (40, {"TEST_DATABASE_SERVER": garbage(40)}, {}),
        (40, {"TEST_DATABASE_CLEANUP": garbage(40)}, {}),
        (40, {}, {"cleanup_option": garbage(40)}),
        (40, {"TEST_DATABASE_LOCK_WAIT": garbage(40)}, {}),
        (40, {"TEST_DATABASE_NAMESPACE": garbage(40)}, {}),
        (40, {}, {"ini": {"base_name": "shop", "project": "!" + garbage(39)}}),
        (80, {"TEST_DATABASE_PG_BINDIR": garbage(80)}, {}),
        (60, {}, {"ini": {"base_name": garbage(60)}}),
        (40, {}, {"ini": {"base_name": "shop", "app_url_env": "!" + garbage(39)}}),
    ],
    ids=[
        "server",
        "cleanup-env",
        "cleanup-option",
        "lock-wait",
        "namespace",
        "project",
        "bindir",
        "base-name",
        "app-url-env",
    ],
)
def test_a_bad_value_is_quoted_up_to_its_limit(length, env, options):
    said = message(env, **options)
    assert "xY'" in said, said
    assert "YZ" not in said, said


def test_a_renaming_query_parameter_is_named_first_in_order():
    said = message({"TEST_DATABASE_URL": "postgresql://u@h/x_test?service=a&dbname=b"})
    assert "the query parameter 'dbname'" in said
    app = {"DATABASE_URL": "postgresql://u@h/shop?service=a&dbname=b"}
    assert "the query parameter 'dbname'" in message(app, ini={})


def test_a_bad_test_database_name_gets_a_suggestion_without_test_suffixes():
    said = message({"TEST_DATABASE_URL": "postgresql://u@h/My-Shop_test_gw3"})
    assert "for example my_shop_test)" in said, said
    said = message({"TEST_DATABASE_URL": "postgresql://u@h/" + "Q" * 50})
    assert f"for example {'q' * 40}_test)" in said, said


def test_a_bad_base_name_says_where_it_came_from():
    assert "(from pgdb_base_name)" in message({}, ini={"base_name": "Shop"})
    app = {"DATABASE_URL": "postgresql://u@h/Shop"}
    assert "(from the app's database (DATABASE_URL))" in message(app, ini={})


def test_names_too_long_for_the_workers_say_which_setting_to_shorten():
    long = "s" * 55
    said = message({"TEST_DATABASE_URL": f"postgresql://u@h/{long}_test"}, workers=12)
    assert "(from TEST_DATABASE_URL)" in said, said
    said = message({}, ini={"base_name": long}, workers=12)
    assert "(from the base name)" in said, said


def test_a_bad_app_url_says_why_the_tests_read_it():
    said = message({"DATABASE_URL": "mysql://u@h/shop"}, ini={})
    assert said.endswith(
        "(The tests read DATABASE_URL only to be sure they never use the app's database.)"
    ), said


def test_the_run_header_names_the_test_database_without_its_password():
    s = read_settings({"TEST_DATABASE_URL": "postgresql://u:hunter2@h:5433/x_test"})
    assert s.describe() == "postgresql://u:***@h:5433/x_test"
