"""The noxfile states the nox it needs, and it is the nox the dev group installs."""

import re
import tomllib
from pathlib import Path

from tools.selection import OPTIONS_WITH_A_VALUE, pytest_arguments

ROOT = Path(__file__).resolve().parents[2]


def test_noxfile_declares_the_nox_version_the_dev_group_pins():
    match = re.search(r'^nox\.needs_version = "([^"]+)"', (ROOT / "noxfile.py").read_text(), re.M)
    assert match, "noxfile.py must set nox.needs_version (older nox crashes on nox.project)"
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    assert f"nox{match.group(1)}" in dev


def test_paths_and_node_ids_after_the_double_dash_replace_the_sessions_paths(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").touch()
    paths, defaults = ["tests/unit", "tests/more"], ["-q", "-n", "auto"]

    def args(*posargs):
        return pytest_arguments(posargs, paths, defaults, tmp_path)

    assert args() == ["tests/unit", "tests/more", "-q", "-n", "auto"]
    assert args("tests/test_x.py::test_y[1]") == ["tests/test_x.py::test_y[1]", *defaults]
    assert args("tests/test_x.py", "-x") == ["tests/test_x.py", *defaults, "-x"]
    # an option's value is never a selection, even when a file of that name exists
    assert args("-k", "tests", "-n", "4") == [*paths, *defaults, "-k", "tests", "-n", "4"]
    assert args("--pgdb-cleanup=truncate") == [*paths, *defaults, "--pgdb-cleanup=truncate"]
    assert args("no_such_path") == [*paths, *defaults, "no_such_path"]  # pytest says so


def test_every_option_that_takes_a_value_is_spelled_as_pytest_spells_it():
    assert all(re.fullmatch(r"-[a-zA-Z]|--[a-z][a-z-]+", o) for o in OPTIONS_WITH_A_VALUE)
