"""URLs shown to people: no password, a plain scheme, and where the server is."""

import re

import pytest
from sqlalchemy.engine import make_url

from pytest_flask_pgdb import SettingsError
from pytest_flask_pgdb.urls import address_of, mask_url, parse_database_url


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("postgres://u:hunter2@h:5433/x", "postgresql://u:***@h:5433/x"),
        ("postgresql+psycopg2://u:hunter2@h/x", "postgresql://u:***@h/x"),
        ("postgresql://u@h/x", "postgresql://u@h/x"),  # no password: nothing to hide
        ("mysql://u:hunter2@h/x", "mysql://u:***@h/x"),  # another scheme is shown as given
    ],
)
def test_a_url_is_shown_with_its_password_hidden(given, shown):
    assert mask_url(given) == shown
    assert mask_url(make_url(given)) == shown


@pytest.mark.parametrize("given", ["nonsense", "postgresql://u:hunter2@h:abc/x"])
def test_a_url_that_does_not_parse_is_not_shown_at_all(given):
    assert mask_url(given) == "<unparseable database URL>"


@pytest.mark.parametrize(
    ("given", "address"),
    [
        ("postgresql://u:p@db:6000/x", "db:6000"),
        ("postgresql://u:p@db/x", "db:5432"),
        ("postgresql:///x", "localhost:5432"),
        ("postgresql:///x?host=/run/pg&port=6001", "/run/pg:6001"),
        ("postgresql://u@db:6000/x?host=/run/pg", "/run/pg:6000"),  # the socket wins
    ],
)
def test_the_address_is_host_and_port_with_the_defaults_filled_in(given, address):
    assert address_of(make_url(given)) == address


def test_a_bad_port_is_quoted_in_at_most_40_characters():
    with pytest.raises(SettingsError) as err:
        parse_database_url("postgresql://u@h:" + "9x" * 40 + "/d", "TEST_DATABASE_URL")
    quoted = re.search(r"got ('.*')\.$", err.value.message)
    assert quoted is not None, err.value.message
    assert len(quoted.group(1)) == 40
