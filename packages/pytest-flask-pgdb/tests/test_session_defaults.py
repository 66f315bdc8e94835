"""Which PGOPTIONS settings change how the server treats the tests (no database)."""

import pytest

from pytest_flask_pgdb.databases.session_defaults import from_environment


@pytest.mark.parametrize(
    ("pgoptions", "named"),
    [
        ("-c statement_timeout=1", ["statement_timeout=1 (PGOPTIONS)"]),
        ("-cdefault_transaction_read_only=on", ["default_transaction_read_only=on (PGOPTIONS)"]),
        ("--session_replication_role=replica", ["session_replication_role=replica (PGOPTIONS)"]),
        (
            "-c search_path=other -c work_mem=64MB -c lock_timeout=2s",
            ["search_path=other (PGOPTIONS)", "lock_timeout=2s (PGOPTIONS)"],
        ),
        ("-c work_mem=64MB", []),  # harmless to the tests: not named
        ("", []),
        ("-c 'unbalanced", []),  # garbage: nothing named, nothing raised
    ],
)
def test_the_watched_settings_of_pgoptions_are_named(pgoptions, named):
    assert from_environment({"PGOPTIONS": pgoptions}) == named


def test_the_cause_sentence_names_every_setting_or_is_empty():
    from pytest_flask_pgdb.databases.session_defaults import as_cause

    assert as_cause([]) == ""
    assert as_cause(["a=1 (PGOPTIONS)", "b=2 (role x default)"]) == (
        " Connection settings in force that may cause it: a=1 (PGOPTIONS); b=2 (role x "
        "default). Unset or change them for the tests."
    )
