"""Coverage-guided selection runs the tests that execute a mutant's lines, or all."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from coverage import Coverage

from mutation import select

MODULE = "pkg/calc.py"
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
SOURCE = """\
LIMIT = 3


def add(a, b):
    return a + b


def clip(value):
    if value > LIMIT:
        return max(
            LIMIT,
            0,
        )
    return value


def double(a):
    return 2 * a
"""


def test_a_changed_line_is_numbered_on_the_pristine_side():
    mutated = SOURCE.replace("return a + b", "return a - b")
    assert select.changed_lines(SOURCE, mutated) == {5}
    call = "        return max(\n            LIMIT,\n            0,\n        )"
    deleted = SOURCE.replace(call, "        pass")
    assert select.changed_lines(SOURCE, deleted) == {10, 11, 12, 13}


def test_each_line_of_a_statement_belongs_to_its_first_line():
    starts = select.statement_starts(SOURCE)
    assert starts[5] == 5
    assert starts[11] == starts[12] == 10  # the call's arguments: the return statement
    assert starts[9] == 9  # the if's own line, not the def's
    assert 2 not in starts  # a blank line is no statement


@pytest.fixture
def covered(tmp_path, monkeypatch):
    """``pkg/calc.py`` run under coverage by two "tests", as pytest-cov records them."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / MODULE).write_text(SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("pkg", "pkg.calc"):  # each test imports its own copy
        monkeypatch.delitem(sys.modules, name, raising=False)
    coverage = Coverage(data_file=str(tmp_path / "coverage"), source=[str(tmp_path / "pkg")])
    coverage.start()
    from pkg import calc  # its module level runs outside any test

    coverage.switch_context("tests/test_calc.py::test_add|run")
    calc.add(1, 2)
    coverage.switch_context("tests/test_calc.py::test_clip[big]|run")
    calc.clip(9)
    coverage.switch_context("tests/test_other.py::test_clip_small|run")
    calc.clip(1)
    coverage.switch_context("tests/test_other.py::test_clip_small|setup")  # a fixture
    calc.double(1)
    coverage.stop()
    coverage.save()
    out = tmp_path / "selection.json"
    select.write_map(tmp_path / "coverage", tmp_path, [MODULE], ["pytest", "-x"], ["tests"], out)
    pristine = tmp_path / "pristine"
    (pristine / "pkg").mkdir(parents=True)
    (pristine / MODULE).write_text(SOURCE)
    return tmp_path, json.loads(out.read_text())["lines"], pristine


def mutate(root, old, new):
    (root / MODULE).write_text(SOURCE.replace(old, new))


def test_a_mutant_runs_the_tests_that_executed_its_line(covered):
    root, lines, pristine = covered
    mutate(root, "return a + b", "return a - b")
    assert select.tests_for(lines, pristine, root) == ["tests/test_calc.py::test_add"]
    mutate(root, "if value > LIMIT", "if value >= LIMIT")
    assert select.tests_for(lines, pristine, root) == [
        "tests/test_calc.py::test_clip[big]",
        "tests/test_other.py::test_clip_small",
    ]


def test_a_continuation_line_runs_its_statements_tests(covered):
    root, lines, pristine = covered
    mutate(root, "            0,\n", "            1,\n")
    assert select.tests_for(lines, pristine, root) == ["tests/test_calc.py::test_clip[big]"]


def test_a_line_no_test_body_executed_runs_every_suite(covered):
    root, lines, pristine = covered
    mutate(root, "LIMIT = 3", "LIMIT = 4")  # module level: run at import, in no test
    assert select.tests_for(lines, pristine, root) is None
    # Run in a fixture's setup: a session fixture's effect reaches tests that never ran it.
    mutate(root, "return 2 * a", "return 3 * a")
    assert select.tests_for(lines, pristine, root) is None
    (root / MODULE).write_text(SOURCE)
    assert select.tests_for(lines, pristine, root) is None  # no change found: all, too


def test_selected_tests_run_in_the_suites_order():
    tests = ["tests/unit/test_b.py::t", "tests/own/test_a.py::t", "elsewhere.py::t"]
    assert select.in_suite_order(tests, ["tests/own", "tests/unit"]) == [
        "tests/own/test_a.py::t",
        "tests/unit/test_b.py::t",
        "elsewhere.py::t",
    ]


def test_the_command_gets_the_selected_tests_in_a_file_or_every_suite(covered):
    root, lines, pristine = covered
    echo = [sys.executable, "-c", "import sys; print(sys.argv[1:])"]
    selection = root / "selection.json"
    selection.write_text(json.dumps({"command": echo, "suites": ["tests"], "lines": lines}))

    def run():
        command = [sys.executable, "-m", "mutation.select", str(selection), str(pristine)]
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, env=ENV)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    mutate(root, "return a + b", "return a - b")
    assert run() == f"['@{root / 'selection.args'}']"
    assert (root / "selection.args").read_text() == "tests/test_calc.py::test_add\n"
    mutate(root, "LIMIT = 3", "LIMIT = 4")
    assert run() == "['tests']"
