"""After collection the plugin freezes what imports made; what tests make is collected."""

import pytest

pytest_plugins = ["pytester"]

SUITE = """
import gc

finalized = []


class Cycle:
    def __del__(self):
        finalized.append(self.made_by)


def cycle(made_by):
    made = Cycle()
    made.made_by, made.itself = made_by, made
    return made


# In a dict: pytester records every name collection looked at (and so its object).
held = {{"import": cycle("import")}}


def test_a_cycle_from_the_imports_is_frozen_one_from_a_test_collected():
    del held["import"]
    cycle("test")
    gc.collect()
    assert finalized == {expected}
"""


@pytest.mark.parametrize(
    ("ini", "expected"),
    [("", ["test"]), ("pgdb_gc_freeze = false", ["import", "test"])],
)
def test_freezing_follows_the_ini_setting(pytester, ini, expected):
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(test_suite=SUITE.format(expected=expected))
    # Only this plugin: the run stays cheap (no other entry point is loaded).
    pytester.runpytest("--disable-plugin-autoload", "-p", "pgdb").assert_outcomes(passed=1)


def test_a_value_that_is_not_a_boolean_is_refused_naming_the_setting(pytester):
    pytester.makeini("[pytest]\npgdb_gc_freeze = maybe\n")
    pytester.makepyfile(test_suite="def test_nothing(): pass")
    result = pytester.runpytest("--disable-plugin-autoload", "-p", "pgdb")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*pgdb_gc_freeze='maybe': expected true or false*"])
