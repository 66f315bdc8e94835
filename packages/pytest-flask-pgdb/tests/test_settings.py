"""Settings as any app gets them: no binding, the default binding, ini keys (no database)."""

import pytest
from sqlalchemy.engine import make_url

from pytest_flask_pgdb import AppDatabase, SettingsError
from pytest_flask_pgdb.databases.names import NamePattern, url_for_test_database
from pytest_flask_pgdb.settings import TEST_ENVIRONMENT, read_settings

SECRET = "hunter2-S3cret"
SUFFIX = "{base}_{label}_{worker}_test"


def refused(match, env=None, **options):
    with pytest.raises(SettingsError, match=match) as err:
        read_settings(env or {}, **options)
    assert SECRET not in err.value.message
    assert "\n" not in err.value.message
    return err.value.message


def test_the_default_binding_reads_database_url():
    s = read_settings({"DATABASE_URL": f"postgres://app:{SECRET}@db:6543/shop"})
    assert s.test_url.render_as_string(hide_password=False) == (
        f"postgresql+psycopg2://app:{SECRET}@db:6543/shop_test"
    )
    assert (s.app_database, s.app_database_source, s.project) == ("shop", "DATABASE_URL", "shop")


def test_the_app_url_variable_is_configurable():
    s = read_settings({"SHOP_DB": "postgresql://u@h/shop"}, ini={"app_url_env": "SHOP_DB"})
    assert (s.app_database, s.app_url_env) == ("shop", "SHOP_DB")
    refused("pgdb_app_url_env='1 bad' is not an environment variable", ini={"app_url_env": "1 bad"})


def test_without_any_binding_a_base_name_is_needed():
    refused("no base name for the test databases: set ini pgdb_base_name")
    s = read_settings({}, ini={"base_name": "shop"})
    assert (s.test_url.host, s.test_url.port, s.test_url.database) == (
        "localhost",
        5432,
        "shop_test",
    )
    assert s.app_database == ""


def test_a_suffix_pattern_for_apps_that_guard_on_it():
    s = read_settings({"DATABASE_URL": "postgresql://u@h/shop"}, ini={"name_pattern": SUFFIX})
    assert s.test_url.database == "shop_test"
    names = [
        url_for_test_database(s.test_url, pattern=s.names, worker=w, label=label).database
        for w, label in [("gw0", None), (None, "models"), ("gw3", "models")]
    ]
    assert names == ["shop_gw0_test", "shop_models_test", "shop_models_gw3_test"]
    assert all(name.endswith("_test") for name in names)


@pytest.mark.parametrize(
    ("pattern", "match"),
    [
        ("{base}_{worker}_test", "holds {base}, {label} and {worker} once each"),
        ("{base}_{label}_{worker}_{worker}_test", "once each"),
        ("{base}-{label}_test_{worker}", "lowercase letters"),
        ("{base}_{label}_{worker}", "not test database names"),
        ("test_{base}_{label}_{worker}", "not test database names"),
        ("{base}_{label}_{worker}_{nope}_test", "once each"),
    ],
)
def test_bad_name_patterns(pattern, match):
    refused(match, {"DATABASE_URL": "postgresql://u@h/shop"}, ini={"name_pattern": pattern})


@pytest.mark.parametrize(
    "app_database",
    ["shop_test", "shop_gw1_test", "shop_models_test", "shop_models_gw0_test"],
)
def test_the_apps_database_is_refused_whatever_the_pattern(app_database):
    message = refused(
        "is the app's own database",
        {"TEST_DATABASE_URL": "postgresql://u@h/shop_test"},
        app_database=AppDatabase(make_url(f"postgresql://u@h/{app_database}"), "DATABASE_URL"),
        ini={"name_pattern": SUFFIX},
    )
    assert app_database in message


def test_test_database_url_names_a_serial_database_of_the_pattern():
    worker_name = {"TEST_DATABASE_URL": "postgresql://u@h/shop_test_gw0"}
    refused("must follow the test name pattern '{base}_{label}_test_{worker}'", worker_name)
    refused("must follow the test name pattern", worker_name, ini={"name_pattern": SUFFIX})
    s = read_settings(
        {"TEST_DATABASE_URL": "postgresql://u@h/shop_test"}, ini={"name_pattern": SUFFIX}
    )
    assert (s.test_url.database, s.base_name, s.project) == ("shop_test", "shop", "shop")


def test_project_names_the_marks():
    env = {"DATABASE_URL": "postgresql://u@h/shop"}
    assert read_settings(env, ini={"project": "acme.shop"}).project == "acme.shop"
    refused("pgdb_project='a b' must be", env, ini={"project": "a b"})


def test_a_base_name_that_cannot_name_databases():
    message = refused("the base name 'Shop-DB'", {"DATABASE_URL": "postgresql://u@h/Shop-DB"})
    assert "'shop_db'" in message
    refused("from pgdb_base_name", ini={"base_name": "Nope!"})


def test_an_app_url_that_renames_its_database_needs_test_database_url():
    refused(
        "query parameter 'dbname'",
        {"DATABASE_URL": "postgresql://u@h/shop?dbname=other"},
    )


def test_the_pattern_round_trips():
    pattern = NamePattern.parse(SUFFIX)
    for base in ("shop", "shop_test", "a_b_c"):
        assert pattern.base_of(pattern.render(base)) == base
    assert NamePattern().base_of("shop_test_gw0") is None  # a worker's, not a serial name


def test_advice_names_the_settings_that_give_the_servers_address():
    app = AppDatabase(make_url("postgresql://u@h/shop"), "DATABASE_URL", server_source="shop.ini")
    assert read_settings({}, app_database=app).server_source == "shop.ini or TEST_DATABASE_URL"
    plain = AppDatabase(make_url("postgresql://u@h/shop"), "DATABASE_URL")
    assert read_settings({}, app_database=plain).server_source == (
        "DATABASE_URL or TEST_DATABASE_URL"
    )
    explicit = {"TEST_DATABASE_URL": "postgresql://u@h/shop_test"}
    assert read_settings(explicit, app_database=app).server_source == "TEST_DATABASE_URL"


def test_a_namespace_comes_from_the_option_else_the_environment():
    env = {"DATABASE_URL": "postgresql://u@h/shop", "TEST_DATABASE_NAMESPACE": " shard2 "}
    assert read_settings(env).namespace == "shard2"
    assert read_settings(env, namespace_option="job7").namespace == "job7"
    assert read_settings({"DATABASE_URL": "postgresql://u@h/shop"}).namespace == ""


@pytest.mark.parametrize("raw", ["Shard", "a-b", "x" * 17, "n 2", "x;drop"])
def test_a_namespace_is_lowercase_letters_and_digits(raw):
    with pytest.raises(SettingsError, match=r"TEST_DATABASE_NAMESPACE=.*lowercase letters"):
        read_settings({"DATABASE_URL": "postgresql://u@h/shop", "TEST_DATABASE_NAMESPACE": raw})
    with pytest.raises(SettingsError, match="--pgdb-namespace="):
        read_settings({"DATABASE_URL": "postgresql://u@h/shop"}, namespace_option=raw)


class _Recording(dict):
    """An environment that records which variables were asked for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)


def test_every_variable_the_settings_read_is_listed_as_the_plugins_own():
    """TEST_ENVIRONMENT is what harnesses (and the unit tests) clear to run isolated from a
    developer's shell: a variable read but not listed would leak into them."""
    environ = _Recording(
        {"DATABASE_URL": "postgresql://u@h/shop", "TEST_DATABASE_URL": "postgresql://u@h/x_test"}
    )
    read_settings(environ)
    assert environ.asked - {"DATABASE_URL"} == set(TEST_ENVIRONMENT)


def test_a_nul_in_the_binaries_directory_is_refused():
    message = refused(
        "TEST_DATABASE_PG_BINDIR must be an absolute directory",
        {"TEST_DATABASE_PG_BINDIR": "/usr/lib/postgresql/15/bin\x00/../x"},
        ini={"base_name": "shop"},
    )
    assert "\x00" not in message.replace("\\x00", "")
