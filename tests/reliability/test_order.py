"""Scenario 7: the integration and machinery suites pass in random orders, -n 2 and -n 3."""

import pytest

pytestmark = pytest.mark.usefixtures("developer_data_is_untouched")

SUITE = ("tests/integration", "tests/machinery", "-q", "-p", "no:cacheprovider")


@pytest.mark.parametrize("seed", [1, 22, 333, 4444, 55555])
def test_random_order(reliability, seed):
    # -v cancels -q: the header then names the seed.
    result = reliability.run_repo_pytest(*SUITE, "-v", f"--randomly-seed={seed}")
    assert result.returncode == 0, result.output[-3000:]
    assert f"Using --randomly-seed={seed}" in result.output
    assert " passed" in result.output


@pytest.mark.parametrize("workers", ["2", "3"])
def test_parallel(reliability, workers):
    result = reliability.run_repo_pytest(*SUITE, "-n", workers)
    assert result.returncode == 0, result.output[-3000:]
    assert " passed" in result.output
