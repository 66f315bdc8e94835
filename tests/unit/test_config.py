"""load_config, get_database_url, masking and every kind of bad input."""

import pytest
from sqlalchemy.engine import make_url

from claude_headspace.config import (
    DEFAULTS,
    ConfigError,
    get_database_url,
    load_config,
    mask_url,
)

SECRET = "pa:ss@w/rd%"


def write(tmp_path, text: str):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_defaults_when_file_is_missing(tmp_path):
    config = load_config(tmp_path / "absent.yaml")
    assert config == DEFAULTS
    assert config is not DEFAULTS
    assert config["database"] is not DEFAULTS["database"]


def test_defaults_are_not_mutated_by_a_load(tmp_path):
    load_config(write(tmp_path, "database:\n  host: db.example\n"))["database"]["name"] = "x"
    assert DEFAULTS["database"]["host"] == "localhost"
    assert DEFAULTS["database"]["name"] == "claude_headspace"


def test_default_path_is_config_yaml_in_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "database:\n  name: from_cwd\n")
    assert load_config()["database"]["name"] == "from_cwd"


def test_yaml_values_override_defaults(tmp_path):
    config = load_config(
        write(
            tmp_path,
            "server:\n  port: 6000\n  debug: true\n"
            "database:\n  host: db.example\n  port: 6543\n  name: hs\n  user: me\n"
            "  password: secret\n  pool_size: 3\n  pool_timeout: 7\n",
        )
    )
    assert config["server"] == {"host": "127.0.0.1", "port": 6000, "debug": True}
    assert config["database"] == {
        "host": "db.example",
        "port": 6543,
        "name": "hs",
        "user": "me",
        "password": "secret",
        "pool_size": 3,
        "pool_timeout": 7,
    }


def test_empty_file_and_empty_section_mean_defaults(tmp_path):
    assert load_config(write(tmp_path, "")) == DEFAULTS
    assert load_config(write(tmp_path, "database:\n")) == DEFAULTS


@pytest.mark.parametrize(
    ("variable", "key", "raw", "expected"),
    [
        ("DATABASE_HOST", "host", "otherhost", "otherhost"),
        ("DATABASE_PORT", "port", "6000", 6000),
        ("DATABASE_NAME", "name", "envdb", "envdb"),
        ("DATABASE_USER", "user", "envuser", "envuser"),
        ("DATABASE_PASSWORD", "password", "envpw", "envpw"),
        ("DATABASE_POOL_SIZE", "pool_size", "4", 4),
        ("DATABASE_POOL_TIMEOUT", "pool_timeout", "9", 9),
    ],
)
def test_each_environment_variable_overrides_the_file(
    tmp_path, monkeypatch, variable, key, raw, expected
):
    path = write(tmp_path, "database:\n  host: filehost\n  port: 1111\n  name: filedb\n")
    monkeypatch.setenv(variable, raw)
    assert load_config(path)["database"][key] == expected


def test_url_is_built_from_fields_with_psycopg2_driver(tmp_path):
    config = load_config(write(tmp_path, "database:\n  host: h\n  port: 5433\n  user: u\n"))
    assert get_database_url(config) == "postgresql+psycopg2://u@h:5433/claude_headspace"


def test_url_quotes_special_characters_in_password(monkeypatch):
    monkeypatch.setenv("DATABASE_PASSWORD", SECRET)
    url = get_database_url(load_config())
    assert (
        url == "postgresql+psycopg2://postgres:pa%3Ass%40w%2Frd%25@localhost:5432/claude_headspace"
    )


def test_database_url_wins_over_every_field(tmp_path, monkeypatch):
    path = write(tmp_path, "database:\n  host: filehost\n  name: filedb\n")
    monkeypatch.setenv("DATABASE_HOST", "envhost")
    monkeypatch.setenv("DATABASE_URL", "postgresql://a:b@urlhost:7777/urldb")
    assert get_database_url(load_config(path)) == "postgresql+psycopg2://a:b@urlhost:7777/urldb"


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg2"])
def test_plain_postgres_schemes_are_pinned_to_psycopg2(monkeypatch, scheme):
    monkeypatch.setenv("DATABASE_URL", f"{scheme}://u@h/db")
    assert get_database_url(load_config()) == "postgresql+psycopg2://u@h/db"


def test_blank_database_url_is_ignored(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "  ")
    assert get_database_url(load_config()).endswith("@localhost:5432/claude_headspace")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg2://u:secret@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u@h:5432/db", "postgresql://u@h:5432/db"),
        (
            f"postgresql://u:{SECRET.replace('%', '%25').replace('@', '%40')}@h/db",
            "postgresql://u:***@h/db",
        ),
        ("not a url", "<unparseable database URL>"),
    ],
)
def test_mask_url_hides_passwords(url, expected):
    assert mask_url(url) == expected


# --- bad input: one clear ConfigError naming setting, value and source --------------


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = write(tmp_path, "database:\n  host: [unclosed\n")
    with pytest.raises(ConfigError, match=r"config\.yaml: invalid YAML at line \d+") as err:
        load_config(path)
    assert "config.example.yaml" in str(err.value)


def test_top_level_must_be_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(write(tmp_path, "- a\n- b\n"))


def test_section_must_be_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match="section 'database' must be a mapping"):
        load_config(write(tmp_path, "database: localhost\n"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("databse:\n  host: x\n", "unknown section 'databse'"),
        ("database:\n  hots: x\n", "unknown setting database.hots"),
    ],
)
def test_unknown_names_are_reported(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


def test_non_integer_port_in_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, "database:\n  port: fivefour\n"))
    assert str(err.value) == (
        f"{tmp_path / 'config.yaml'}: database.port must be a whole number, got 'fivefour'."
    )


@pytest.mark.parametrize(
    ("variable", "raw", "message"),
    [
        ("DATABASE_PORT", "abc", "database.port must be a whole number, got 'abc'"),
        ("DATABASE_PORT", "70000", "database.port must be between 1 and 65535, got 70000"),
        ("DATABASE_POOL_SIZE", "-1", "database.pool_size must be between 1 and 1000, got -1"),
        ("DATABASE_POOL_SIZE", "ten", "database.pool_size must be a whole number, got 'ten'"),
        ("DATABASE_POOL_TIMEOUT", "1.5", "database.pool_timeout must be a whole number, got '1.5'"),
        ("DATABASE_HOST", " ", "database.host must not be empty"),
    ],
)
def test_bad_environment_values(monkeypatch, variable, raw, message):
    monkeypatch.setenv(variable, raw)
    with pytest.raises(ConfigError) as err:
        load_config()
    assert str(err.value).startswith(f"environment variable {variable}: {message}")


def test_negative_pool_size_in_file(tmp_path):
    with pytest.raises(ConfigError, match=r"pool_size must be between 1 and 1000, got -5"):
        load_config(write(tmp_path, "database:\n  pool_size: -5\n"))


def test_boolean_is_not_a_port(tmp_path):
    with pytest.raises(ConfigError, match=r"database\.port must be a whole number, got True"):
        load_config(write(tmp_path, "database:\n  port: yes\n"))


def test_bad_debug_flag(tmp_path):
    with pytest.raises(ConfigError, match=r"server\.debug must be true or false, got 'maybe'"):
        load_config(write(tmp_path, "server:\n  debug: maybe\n"))


def test_password_of_wrong_type_is_not_echoed(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, "database:\n  password: [hunter2]\n"))
    assert "hunter2" not in str(err.value)
    assert "database.password must be a string" in str(err.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"mysql://root:{SECRET}@h/db", "DATABASE_URL uses the unsupported scheme 'mysql'"),
        ("sqlite:///x.db", "DATABASE_URL uses the unsupported scheme 'sqlite'"),
        ("postgresql://u:hunter2@h:5432/", "DATABASE_URL names no database"),
        ("::not a url::hunter2", "DATABASE_URL is not a valid database URL"),
    ],
)
def test_bad_database_url(monkeypatch, url, message):
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ConfigError) as err:
        get_database_url(load_config())
    assert str(err.value).startswith(message)
    assert "hunter2" not in str(err.value)
    assert SECRET not in str(err.value)


def test_numeric_yaml_strings_are_accepted(tmp_path):
    config = load_config(write(tmp_path, "database:\n  password: 1234\n  name: 2024\n"))
    assert config["database"]["password"] == "1234"
    assert config["database"]["name"] == "2024"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not UTF-8 text (byte 0x89 at offset 0)"),
        (b"database:\n  host: a\x00b\n", "contains NUL bytes"),
        (b"[" * 100 + b"]" * 100, "nested too deeply"),
        (b"# " + b"x" * (64 * 1024) + b"\n", "larger than 64 KiB"),
    ],
    ids=["binary", "nul", "deeply-nested", "huge"],
)
def test_files_that_are_not_a_configuration_give_one_message(tmp_path, content, message):
    path = tmp_path / "config.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value)
    assert len(str(err.value)) < 300


def test_a_huge_value_is_shown_shortened(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("database:\n  host: [" + ", ".join(["x"] * 500) + "]\n")
    with pytest.raises(ConfigError, match=r"database\.host must be a string") as err:
        load_config(path)
    assert len(str(err.value)) < 300


def test_a_socket_directory_host_round_trips_through_the_url(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("database:\n  host: /var/run/postgresql\n  port: 5433\n")
    url = make_url(get_database_url(load_config(path)))
    assert dict(url.query) == {"host": "/var/run/postgresql", "port": "5433"}
    assert url.database == "claude_headspace"


def test_nesting_is_refused_just_beyond_the_limit(tmp_path):
    """32 levels load (the top, server:, 30 lists); 33 are one message, before PyYAML's
    recursive loader would run out of stack."""
    path = tmp_path / "config.yaml"
    path.write_text("server:\n  port: " + "[" * 30 + "1" + "]" * 30 + "\n")
    with pytest.raises(ConfigError, match=r"server\.port must be"):
        load_config(path, environ={})  # loaded: only its value is wrong
    path.write_text("server:\n  port: " + "[" * 31 + "1" + "]" * 31 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(path, environ={})


class _Recording(dict):
    """An environment that records which variables were asked for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)


def test_every_variable_the_app_reads_for_its_database_is_in_config_environment(tmp_path):
    """CONFIG_ENVIRONMENT is what the unit tests and the reliability harness clear so
    that a developer's shell cannot steer them: a variable read but not listed leaks."""
    from claude_headspace.config import CONFIG_ENVIRONMENT, configured_database

    environ = _Recording()
    configured_database(environ, str(write(tmp_path, "{}\n")))
    assert environ.asked == set(CONFIG_ENVIRONMENT)
