"""-n auto: workers only where the selected tests pay for them."""

import pytest

from pytest_flask_pgdb.errors import SettingsError
from pytest_flask_pgdb.plugin import pytest_xdist_auto_num_workers
from pytest_flask_pgdb.workers import auto_workers, count_tests, parse_tests_per_worker

pytest_plugins = ["pytester"]

TESTS = """
import pytest

def test_one():
    pass

async def test_two():
    pass

class TestThree:
    def test_three(self):
        pass

def helper_test():  # not a test function
    pass
"""


def test_node_ids_count_one_each_files_their_functions_directories_their_files(tmp_path):
    (tmp_path / "tests" / "deep").mkdir(parents=True)
    (tmp_path / "tests" / "test_a.py").write_text(TESTS)
    (tmp_path / "tests" / "deep" / "b_test.py").write_text(TESTS)
    (tmp_path / "tests" / "deep" / "helpers.py").write_text(TESTS)  # not a test file
    assert count_tests(["tests/test_a.py"], tmp_path) == 3
    assert count_tests(["tests"], tmp_path) == 6
    assert count_tests(["tests/test_a.py::test_one", "tests/test_a.py::TestThree"], tmp_path) == 2
    assert count_tests(["tests/missing.py"], tmp_path) == 0  # pytest says what is wrong


@pytest.mark.parametrize(
    ("tests", "per_worker", "cpus", "workers"),
    [
        (1, 50, 2, 0),
        (99, 50, 2, 0),  # one worker's worth: serial, never -n 1
        (100, 50, 2, 2),
        (1000, 50, 2, 2),  # at most one per CPU
        (1000, 50, 8, 8),
        (250, 50, 8, 5),
        (0, 1, 4, 0),
    ],
)
def test_a_worker_per_tests_per_worker_at_most_one_per_cpu_serial_under_two(
    tests, per_worker, cpus, workers
):
    assert auto_workers(tests, per_worker, cpus=cpus) == workers


def _config(pytester, numprocesses, *args, ini=""):
    """A real pytest config of a project holding test_a.py, as xdist leaves it when it
    asks for ``-n auto`` (set here: xdist need not be installed)."""
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(test_a=TESTS)
    config = pytester.parseconfig("--disable-plugin-autoload", "-p", "pgdb", *args)  # cheap
    config.option.numprocesses = numprocesses
    return config


def test_auto_counts_the_selection_with_the_ini_setting(pytester, monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0, 1, 2, 3})
    config = _config(pytester, "auto", "test_a.py", ini="pgdb_tests_per_worker = 1")
    assert pytest_xdist_auto_num_workers(config) == 3
    config = _config(pytester, "auto", "test_a.py::test_one")
    assert pytest_xdist_auto_num_workers(config) == 0


def test_xdist_decides_when_its_variable_is_set_or_the_count_is_not_auto(pytester, monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "3")
    assert pytest_xdist_auto_num_workers(_config(pytester, "auto")) is None
    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS")
    config = _config(pytester, "logical", ini="pgdb_tests_per_worker = nonsense")
    assert pytest_xdist_auto_num_workers(config) is None  # not read: not ours to decide


@pytest.mark.parametrize("value", ["0", "-2", "many", "1.5", ""])
def test_a_bad_tests_per_worker_is_one_clear_error(value):
    with pytest.raises(SettingsError, match=f"pgdb_tests_per_worker .*got '{value}'"):
        parse_tests_per_worker(value)
    assert parse_tests_per_worker(" 7 ") == 7
