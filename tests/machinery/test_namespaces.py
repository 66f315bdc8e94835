"""Runs side by side on one server: each run's names in a namespace of its own."""

import threading
import uuid

import pytest

from pytest_flask_pgdb.databases import namespaces


@pytest.fixture
def take(pgdb_server, pgdb_settings):
    """Take a namespace as process of ``run`` would, for a base no other test uses;
    every claim is closed at the end."""
    base = f"nsprobe{uuid.uuid4().hex[:8]}"
    claims = []

    def take_as(run, explicit=""):
        claim = namespaces.take(
            pgdb_server.maintenance_url,
            project=pgdb_settings.project,
            base=base,
            run=run,
            explicit=explicit,
            lock_wait=5,
            where=pgdb_server.describe(),
        )
        claims.append(claim)
        return claim

    yield take_as
    for claim in claims:
        claim.close()


def test_the_first_run_takes_the_plain_names_its_workers_join_it_others_the_next(take):
    first, first_worker = take("run-a"), take("run-a")
    second, second_worker = take("run-b"), take("run-b")
    third = take("run-c")
    assert [first.namespace, first_worker.namespace] == ["", ""]
    assert [second.namespace, second_worker.namespace] == ["n2", "n2"]
    assert third.namespace == "n3"
    assert (first.automatic, second.automatic, third.automatic) == (False, True, True)


def test_a_namespace_is_free_again_once_its_run_ends(take):
    first, worker = take("run-a"), take("run-a")
    assert take("run-b").namespace == "n2"
    first.close()
    assert take("run-c").namespace == "n3"  # run-a's other process still holds it
    worker.close()
    assert take("run-d").namespace == ""


def test_an_explicit_namespace_is_taken_as_set_and_skipped_by_others(take):
    shard = take("run-a", explicit="shard2")
    assert (shard.namespace, shard.automatic) == ("shard2", False)
    assert take("run-b").namespace == ""  # not one of the automatic ones: no conflict


def test_runs_starting_at_once_each_get_their_own_and_their_workers_share_it(take):
    runs = [f"run-{n}" for n in range(4)]
    taken: dict[str, list[str]] = {run: [] for run in runs}
    start = threading.Barrier(len(runs) * 2)

    def process(run):
        start.wait()
        taken[run].append(take(run).namespace)

    threads = [threading.Thread(target=process, args=(run,)) for run in runs for _ in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    per_run = {run: set(spaces) for run, spaces in taken.items()}
    assert all(len(spaces) == 1 for spaces in per_run.values()), per_run
    assert sorted(spaces.pop() for spaces in per_run.values()) == ["", "n2", "n3", "n4"]
