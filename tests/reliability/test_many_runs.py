"""Many runs at once on one server: worktrees side by side, CI shards (issue: many runs).

Every run takes a namespace of its own on the server (``namespaces.py``): the first
run the plain names, the others n2, n3, ... — whatever their worker ids or process ids.
"""

import re

import pytest

from tests.reliability.harness import kill_group, wait_for

pytestmark = pytest.mark.usefixtures("developer_data_is_untouched")
CLOSING = re.compile(r"^test databases: (?P<names>.*) on .*?; cleanup: \w+(?P<note>.*)$", re.M)
PASSED = re.compile(r"^PASSED \S*?(sample_suite\.py::\S+)", re.M)
SPLIT = ("--splitting-algorithm", "least_duration")  # shards split alike, in any order


def closing_namespace(output: str) -> str:
    """The namespace a run's closing line names ('' for the plain names)."""
    line = CLOSING.search(output)
    assert line, output[-3000:]
    note = re.search(r"; namespace (\w+) \(", line.group("note"))
    return note.group(1) if note else ""


def finish(runs, timeout=300):
    outputs = [run.communicate(timeout=timeout)[0] for run in runs]
    return [(run.returncode, output) for run, output in zip(runs, outputs, strict=True)]


def test_three_runs_of_one_checkout_at_once_each_take_a_namespace(reliability):
    runs = [reliability.start_sample("-n", "2", SAMPLE_SLOW="2") for _ in range(3)]
    results = finish(runs)
    assert [code for code, _ in results] == [0, 0, 0], results
    assert sorted(closing_namespace(output) for _, output in results) == ["", "n2", "n3"]
    for _, output in results:
        if closing_namespace(output):
            assert "another live run holds the plain names" in output


def test_three_shards_each_on_its_own_machine_run_every_test_once(reliability):
    """Each shard in its own PID and network namespace: pids and worker ids collide."""
    whole = reliability.run_sample("-rA", SAMPLE_SLOW="1")  # the suite in one run
    all_tests = sorted(PASSED.findall(whole.output))
    assert whole.returncode == 0, whole.output
    assert len(all_tests) >= 8, whole.output
    shards = [
        reliability.start_sample(
            "--splits",
            "3",
            "--group",
            str(group),
            *SPLIT,
            "-n",
            "2",
            "-rA",
            machine=True,
            SAMPLE_SLOW="1",
        )
        for group in (1, 2, 3)
    ]
    results = finish(shards)
    assert [code for code, _ in results] == [0, 0, 0], results
    ran = sorted(test for _, output in results for test in PASSED.findall(output))
    assert ran == all_tests  # each exactly once
    # (Shards that overlap take distinct namespaces; one may end before another starts,
    # and its namespace is free again: so no count is asserted here.)
    assert all(closing_namespace(output) in ("", "n2", "n3") for _, output in results)


def test_a_shard_killed_leaves_the_others_green_and_the_next_run_sweeps(reliability):
    marker = reliability.marker()
    victim = reliability.start_sample(
        "--splits",
        "3",
        "--group",
        "1",
        *SPLIT,
        "-n",
        "2",
        machine=True,
        SAMPLE_PAUSE="setup",
        SAMPLE_MARKER=str(marker),
    )
    wait_for(marker)
    others = [
        reliability.start_sample(
            "--splits", "3", "--group", str(g), *SPLIT, "-n", "2", machine=True
        )
        for g in (2, 3)
    ]
    kill_group(victim)
    results = finish(others)
    assert [code for code, _ in results] == [0, 0], results
    after = reliability.run_sample("-n", "2")
    assert after.returncode == 0, after.output
    assert reliability.databases() == []


def test_a_private_cluster_of_a_run_on_another_machine_is_never_taken_for_abandoned(
    reliability,
):
    """Runs in other PID namespaces share /dev/shm: their processes' pids mean nothing
    here. Run A (its own machine) pauses on its private cluster while run B starts one
    of its own, sweeping abandoned clusters: A's must survive."""
    marker, resume = reliability.marker(), reliability.workdir / "resume-machine"
    first = reliability.start_sample(
        "-n", "2", machine=True, TEST_DATABASE_SERVER="private", SAMPLE_PAUSE="test",
        SAMPLE_MARKER=str(marker), SAMPLE_RESUME=str(resume),
    )  # fmt: skip
    wait_for(marker)
    second = reliability.run_sample(TEST_DATABASE_SERVER="private")
    resume.touch()
    output, _ = first.communicate(timeout=180)
    assert second.returncode == 0, second.output
    assert first.returncode == 0, output[-3000:]
