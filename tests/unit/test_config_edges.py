"""config.py at its edges: literal defaults, every boundary, every spelling of a boolean.

What a mutation run showed untested: a changed default, an off-by-one range, a boolean
word dropped, the unreadable / oversized / empty-value paths.
"""

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from claude_headspace.config import (
    ConfigError,
    address_of,
    build_database_url,
    get_database_url,
    load_config,
    mask_url,
    parse_database_url,
)


def load(tmp_path, text=None, **environ):
    path = tmp_path / "config.yaml"
    if text is not None:
        path.write_text(text)
    return load_config(path, environ=environ)


DOCUMENTED_DEFAULTS = [  # as config.example.yaml documents them: setting, value
    ("server.host", "127.0.0.1"), ("server.port", 5055), ("server.debug", False),
    ("database.host", "localhost"), ("database.port", 5432),
    ("database.name", "claude_headspace"), ("database.user", "postgres"),
    ("database.password", ""), ("database.pool_size", 10), ("database.pool_timeout", 30),
]  # fmt: skip


def test_the_defaults_are_the_documented_values(tmp_path):
    """Written out, not compared with DEFAULTS: a changed default must fail here."""
    config = load(tmp_path)
    loaded = [(f"{s}.{k}", v) for s, values in config.items() for k, v in values.items()]
    assert sorted(loaded) == sorted(DOCUMENTED_DEFAULTS)


@pytest.mark.parametrize(
    ("setting", "low", "high"),
    [
        ("server.port", 1, 65535),
        ("database.port", 1, 65535),
        ("database.pool_size", 1, 1000),
        ("database.pool_timeout", 1, 3600),
    ],
)
def test_every_range_takes_its_ends_and_refuses_one_beyond(tmp_path, setting, low, high):
    section, key = setting.split(".")
    for good in (low, high):
        assert load(tmp_path, f"{section}:\n  {key}: {good}\n")[section][key] == good
    for bad in (low - 1, high + 1):
        with pytest.raises(ConfigError, match=f"must be between {low} and {high}, got {bad}"):
            load(tmp_path, f"{section}:\n  {key}: {bad}\n")


@pytest.mark.parametrize(
    ("word", "value"),
    [(w, True) for w in ("true", "1", "yes", "on", " On ", "TRUE")]
    + [(w, False) for w in ("false", "0", "no", "off", " Off ", "FALSE")],
)
def test_every_spelling_of_a_boolean(tmp_path, word, value):
    assert load(tmp_path, f'server:\n  debug: "{word}"\n')["server"]["debug"] is value


@pytest.mark.parametrize("value", ["true", "false"])
def test_a_yaml_boolean_is_taken_as_it_is(tmp_path, value):
    assert load(tmp_path, f"server:\n  debug: {value}\n")["server"]["debug"] is (value == "true")


@pytest.mark.parametrize("word", ["maybe", "", "2"])
def test_other_words_are_not_booleans(tmp_path, word):
    with pytest.raises(ConfigError, match=r"server\.debug must be true or false"):
        load(tmp_path, f'server:\n  debug: "{word}"\n')


def test_a_number_given_as_text_in_the_environment(tmp_path):
    config = load(tmp_path, DATABASE_PORT="6543", DATABASE_POOL_SIZE="1")
    assert (config["database"]["port"], config["database"]["pool_size"]) == (6543, 1)


@pytest.mark.parametrize("value", ["[1, 2]", "{a: 1}", "1.5"])
def test_a_whole_number_setting_refuses_other_types(tmp_path, value):
    with pytest.raises(ConfigError, match=r"database\.port must be a whole number"):
        load(tmp_path, f"database:\n  port: {value}\n")


def test_an_empty_value_means_the_default_and_an_empty_text_is_refused(tmp_path):
    assert load(tmp_path, "database:\n  host:\n")["database"]["host"] == "localhost"
    assert load(tmp_path, 'database:\n  password: ""\n')["database"]["password"] == ""
    for key in ("host", "name", "user"):
        with pytest.raises(ConfigError, match=rf"database\.{key} must not be empty"):
            load(tmp_path, f'database:\n  {key}: "  "\n')
    with pytest.raises(ConfigError, match=r"server\.host must not be empty"):
        load(tmp_path, 'server:\n  host: ""\n')


def test_a_text_setting_refuses_a_list(tmp_path):
    with pytest.raises(ConfigError, match=r"database\.name must be a string, got \['a'\]"):
        load(tmp_path, "database:\n  name: [a]\n")


def test_an_empty_section_keeps_the_defaults(tmp_path):
    assert load(tmp_path, "server:\ndatabase:\n")["server"]["port"] == 5055


def test_a_file_that_cannot_be_read_says_so(tmp_path):
    path = tmp_path / "config.yaml"
    path.mkdir()  # exists, but is not a readable file
    with pytest.raises(ConfigError, match=r"config\.yaml: cannot be read"):
        load_config(path, environ={})


def test_the_size_limit_is_64_kib_exactly(tmp_path):
    path = tmp_path / "config.yaml"
    body = "# padding\n"
    path.write_text(body + "#" * (64 * 1024 - len(body) - 1) + "\n")
    assert load_config(path, environ={})["server"]["port"] == 5055
    path.write_text(body + "#" * (64 * 1024 - len(body)) + "\n")
    with pytest.raises(ConfigError, match="larger than 64 KiB"):
        load_config(path, environ={})


def test_unparseable_yaml_without_a_position_still_says_what(tmp_path):
    with pytest.raises(ConfigError, match="invalid YAML"):
        load(tmp_path, "a: !!python/object:os.system x\n")


def test_a_socket_directory_is_a_query_host_with_its_port():
    url = build_database_url(
        {"host": "/run/pg", "port": 6000, "name": "n", "user": "", "password": ""}
    )
    assert url.query == {"host": "/run/pg", "port": "6000"}
    assert (url.host, url.username, url.password) == (None, None, None)
    assert address_of(url) == "/run/pg:6000"


def test_a_tcp_address_and_its_defaults():
    url = build_database_url(
        {"host": "db", "port": 6001, "name": "n", "user": "u", "password": "p"}
    )
    assert (url.host, url.port, url.username, url.password) == ("db", 6001, "u", "p")
    assert address_of(url) == "db:6001"
    assert address_of(make_url("postgresql://u@/d")) == "localhost:5432"


@pytest.mark.parametrize("port", ["1", "65535"])
def test_url_ports_at_the_ends_of_the_range_are_accepted(port):
    assert parse_database_url(f"postgresql://u@h:{port}/d", "X").port == int(port)


@pytest.mark.parametrize("port", ["0", "65536", "123456", "+5432", "٥٤٣٢"])
def test_url_ports_out_of_range_or_not_ascii_digits_are_refused(port):
    with pytest.raises(ConfigError, match="X: the port must be a number from 1 to 65535"):
        parse_database_url(f"postgresql://u@h:{port}/d", "X")


def test_a_port_in_the_query_is_checked_too():
    with pytest.raises(ConfigError, match="the port must be a number"):
        parse_database_url("postgresql://u@/d?host=/run/pg&port=70000", "X")
    assert parse_database_url("postgresql://u@/d?host=/run/pg&port=6000", "X").query["port"] == (
        "6000"
    )


def test_a_url_without_a_database_or_with_another_scheme_is_refused():
    with pytest.raises(ConfigError, match="names no database"):
        parse_database_url("postgresql://u@h:5432", "X")
    with pytest.raises(ConfigError, match="unsupported scheme 'mysql'"):
        parse_database_url("mysql://u@h/d", "X")


def test_database_url_with_only_whitespace_falls_back_to_the_fields():
    config = {"database": {"host": "h", "port": 1, "name": "n", "user": "u", "password": ""}}
    assert get_database_url(config, {"DATABASE_URL": "   "}) == "postgresql+psycopg2://u@h:1/n"
    assert get_database_url(config, {}) == "postgresql+psycopg2://u@h:1/n"


def test_mask_url_leaves_a_url_without_password_alone_and_a_foreign_scheme_as_it_is():
    assert mask_url("postgresql+psycopg2://u@h/d") == "postgresql://u@h/d"
    assert mask_url("sqlite:///x.db") == "sqlite:///x.db"
    assert mask_url("not a url") == "<unparseable database URL>"


def test_a_yaml_error_names_its_line_and_column_counted_from_one(tmp_path):
    with pytest.raises(ConfigError, match=r"invalid YAML at line 2, column 9: ") as err:
        load(tmp_path, "server:\n  port: :\n  - x\n")
    assert "Fix the file or compare it with config.example.yaml" in err.value.message
    with pytest.raises(ConfigError, match=r"invalid YAML at line 3, column 1: [^.]*expected ','"):
        load(tmp_path, "database:\n  host: [oops\n")
    # 0-based column 5 is reported as 6: counted from one by adding, for odd columns too
    with pytest.raises(ConfigError, match=r"invalid YAML at line 1, column 6: mapping values"):
        load(tmp_path, "ab: c: d\n")


def test_a_nested_value_is_shown_two_levels_deep(tmp_path):
    with pytest.raises(ConfigError, match=r"got \[\[1, \[\.\.\.\]\]\]\.$"):
        load(tmp_path, "database:\n  name: [[1, [2, [3]]]]\n")


def test_the_database_name_override_is_keyword_only():
    section = {"host": "h", "port": 1, "name": "n", "user": "u", "password": ""}
    assert build_database_url(section, name="other").database == "other"
    with pytest.raises(TypeError):
        build_database_url(section, "other")


def test_a_long_text_inside_a_bad_value_is_cut_at_60_characters(tmp_path):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, f"database:\n  name: [{'a' * 100}]\n")
    shown = err.value.message.split("got ", 1)[1].rstrip(".")
    # reprlib keeps the first and last characters of a string cut to 60: 'aaa...aaa'
    assert shown == "['" + "a" * 27 + "..." + "a" * 28 + "']"


def test_an_empty_section_does_not_hide_the_sections_after_it(tmp_path):
    assert load(tmp_path, "server:\ndatabase:\n  port: 6000\n")["database"]["port"] == 6000


def test_config_example_yaml_states_the_defaults(tmp_path):
    example = Path(__file__).resolve().parents[2] / "config.example.yaml"
    assert load_config(example, environ={}) == load(tmp_path)
