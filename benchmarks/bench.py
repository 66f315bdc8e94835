"""What per-test cleanup, worker setup and xdist cost. Prints tables; asserts nothing.

    nox -s bench                     # or: python benchmarks/bench.py --rounds 250

Uses the tests' own server discovery (configured server, else a private cluster) and
test-database names (claude_headspace_bench_test...). The last line is machine-readable:

    summary: cycle_ratio=... empty_cleanup_ms=... truncate_cycle_ratio=... xdist_speedup=...
             worker_setup_ms=...
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

import claude_headspace.models  # noqa: F401  -- registers the tables
from claude_headspace.database import db
from claude_headspace.models import (
    Agent,
    Event,
    Project,
    Task,
    TaskState,
    Turn,
    TurnActor,
    TurnIntent,
)
from claude_headspace.testing.cleanup import DatabaseCleaner
from claude_headspace.testing.databases import TestDatabase, autocommit_engine
from claude_headspace.testing.names import url_for_test_database
from claude_headspace.testing.server import connect_server

ROOT = Path(__file__).resolve().parents[1]
LABEL = "bench"


def write_chain(session: Session) -> None:
    """The benchmark's test body: 1 project, 1 agent, 1 task, 3 turns, 2 events."""
    suffix = uuid.uuid4().hex[:8]
    project = Project(name=f"bench {suffix}", path=f"/bench/{suffix}")
    agent = Agent(project=project, session_uuid=uuid.uuid4())
    task = Task(agent=agent, state=TaskState.PROCESSING, instruction="benchmark")
    turns = [
        Turn(task=task, actor=TurnActor.USER, intent=TurnIntent.COMMAND, text="go"),
        Turn(
            task=task,
            actor=TurnActor.AGENT,
            intent=TurnIntent.PROGRESS,
            text="working",
            tool_input={"tool": "Edit"},
        ),
        Turn(task=task, actor=TurnActor.AGENT, intent=TurnIntent.COMPLETION, text="Done."),
    ]
    session.add_all([project, *turns])
    session.flush()
    session.add_all(
        [
            Event(
                event_type="turn_detected",
                project_id=project.id,
                agent_id=agent.id,
                payload={"n": 1},
            ),
            Event(event_type="state_transition", task_id=task.id, payload={"n": 2}),
        ]
    )
    session.commit()


def ms(seconds: float) -> float:
    return seconds * 1000


def stats(samples: list[float]) -> tuple[float, float]:
    """(median, p90) in milliseconds."""
    return ms(statistics.median(samples)), ms(statistics.quantiles(samples, n=10)[-1])


MODES = ("rollback", "truncate", "delete")


def measure_cleanup(urls: dict[str, URL], rounds: int) -> dict[str, dict[str, list[float]]]:
    """Round-robin over the modes, so drift in the machine hits every mode alike.

    Each mode has its own database: TRUNCATE gives tables new files, which would make
    the next mode's inserts extend fresh files and skew its numbers.
    """
    engines = {mode: create_engine(url, pool_size=2) for mode, url in urls.items()}
    admins = {mode: autocommit_engine(urls[mode]).connect() for mode in ("truncate", "delete")}
    cleaners = {
        mode: DatabaseCleaner(connection, db.metadata, mode) for mode, connection in admins.items()
    }
    results: dict[str, dict[str, list[float]]] = {
        mode: {"cleanup": [], "cycle": [], "empty": []} for mode in MODES
    }

    def rollback_cycle(write: bool) -> tuple[float, float]:
        start = time.perf_counter()
        connection = engines["rollback"].connect()
        transaction = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        if write:
            write_chain(session)
        middle = time.perf_counter()
        session.close()
        transaction.rollback()
        connection.close()
        end = time.perf_counter()
        return middle - start, end - middle

    def truncation_cycle(strategy: str, write: bool) -> tuple[float, float]:
        start = time.perf_counter()
        if write:
            with Session(engines[strategy]) as session:
                write_chain(session)
        middle = time.perf_counter()
        cleaners[strategy].clean()
        end = time.perf_counter()
        return middle - start, end - middle

    runners: dict[str, Callable[[bool], tuple[float, float]]] = {
        "rollback": rollback_cycle,
        "truncate": lambda write: truncation_cycle("truncate", write),
        "delete": lambda write: truncation_cycle("delete", write),
    }
    for _warm_up in range(10):
        for run in runners.values():
            run(True)
            run(False)
    for _ in range(rounds):
        for mode, run in runners.items():
            body, cleanup = run(True)
            results[mode]["cleanup"].append(cleanup)
            results[mode]["cycle"].append(body + cleanup)
            _, empty = run(False)
            results[mode]["empty"].append(empty)
    for connection in admins.values():
        connection.close()
    for engine in engines.values():
        engine.dispose()
    return results


def measure_worker_setup(base, repeats: int = 5) -> dict[str, list[float]]:
    phases: dict[str, list[float]] = {"server check": [], "create": [], "schema": [], "drop": []}
    for n in range(repeats):
        start = time.perf_counter()
        server = connect_server(base)
        checked = time.perf_counter()
        database = TestDatabase(server, url_for_test_database(base, label=f"setup{n}").database)
        database.setup()
        created = time.perf_counter()
        database.build_schema(db.metadata)
        built = time.perf_counter()
        database.teardown()
        dropped = time.perf_counter()
        server.release()
        phases["server check"].append(checked - start)
        phases["create"].append(created - checked)
        phases["schema"].append(built - created)
        phases["drop"].append(dropped - built)
    return phases


SYNTHETIC_CONFTEST = """
pytest_plugins = ("claude_headspace.testing.plugin",)

import pytest


@pytest.fixture(autouse=True)
def _clean(clean_database):
    pass
"""

SYNTHETIC_TESTS = """
import pytest

from claude_headspace.database import db
from benchmarks.bench import write_chain


@pytest.mark.parametrize("n", range({count}))
def test_chain(n):
    write_chain(db.session)
"""


def measure_xdist(tests: int, repeats: int, files: int = 10) -> dict[str, float]:
    """Median wall time of whole pytest runs, -n 0 and -n 2 alternating."""
    walls: dict[str, list[float]] = {"0": [], "2": []}
    with tempfile.TemporaryDirectory(prefix="headspace-bench-") as tmp:
        suite = Path(tmp)
        (suite / "conftest.py").write_text(SYNTHETIC_CONFTEST)
        for index in range(files):
            (suite / f"test_chain_{index}.py").write_text(
                SYNTHETIC_TESTS.format(count=tests // files)
            )
        env = dict(os.environ, DATABASE_NAME=f"claude_headspace_{LABEL}", PYTHONPATH=str(ROOT))
        for workers in ("0", "2") * repeats:
            command = [
                sys.executable,
                "-m",
                "pytest",
                str(suite),
                "-q",
                "-n",
                workers,
                "--rootdir",
                str(suite),
                "-p",
                "no:randomly",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:faker",
            ]  # as pyproject.toml: faker's plugin costs 0.6 s
            start = time.perf_counter()
            result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
            walls[workers].append(time.perf_counter() - start)
            if result.returncode != 0:
                raise SystemExit(
                    f"synthetic suite failed with -n {workers}:\n{result.stdout[-2000:]}"
                )
            passed = result.stdout.strip().splitlines()[-1]
            print(f"  -n {workers}: {passed} ({walls[workers][-1]:.2f} s wall)")
    return {workers: statistics.median(times) for workers, times in walls.items()}


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]
    line = " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    rule = "-+-".join("-" * w for w in widths)
    body = [" | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join([line, rule, *body])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=250)
    parser.add_argument("--synthetic-tests", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5, help="whole-suite runs per -n")
    args = parser.parse_args()
    if args.rounds < 20:
        parser.error("--rounds must be at least 20")

    base = url_for_test_database(label=LABEL)
    server = connect_server(base)
    print(f"server: {server.describe()}")
    databases = {
        mode: TestDatabase(server, url_for_test_database(base, label=mode).database)
        for mode in MODES
    }
    try:
        for database in databases.values():
            database.setup(db.metadata)
        results = measure_cleanup({m: d.url for m, d in databases.items()}, args.rounds)
    finally:
        for database in databases.values():
            database.teardown()
        server.release()

    base_cycle = statistics.median(results["rollback"]["cycle"])
    print(
        f"\nPer-test cleanup, chain test (1 project, 1 agent, 1 task, 3 turns, 2 events), "
        f"{args.rounds} rounds side by side, ms"
    )
    rows = []
    labels = {
        "rollback": "savepoint rollback (baseline)",
        "truncate": "TRUNCATE all",
        "delete": "DELETE + reset sequences (default)",
    }
    for mode, label in labels.items():
        cleanup, cleanup_p90 = stats(results[mode]["cleanup"])
        cycle, cycle_p90 = stats(results[mode]["cycle"])
        empty, empty_p90 = stats(results[mode]["empty"])
        ratio = statistics.median(results[mode]["cycle"]) / base_cycle
        rows.append(
            [
                label,
                f"{cleanup:.2f}",
                f"{cleanup_p90:.2f}",
                f"{cycle:.2f}",
                f"{cycle_p90:.2f}",
                f"{ratio:.2f}x",
                f"{empty:.2f}",
                f"{empty_p90:.2f}",
            ]
        )
    print(
        table(
            [
                "strategy",
                "cleanup",
                "p90",
                "cycle",
                "p90",
                "cycle/rollback",
                "empty test cleanup",
                "p90",
            ],
            rows,
        )
    )

    print("\nPer-worker session overhead (median of 5), ms")
    phases = measure_worker_setup(base)
    setup_rows = [[phase, f"{ms(statistics.median(v)):.1f}"] for phase, v in phases.items()]
    worker_setup = sum(statistics.median(v) for v in phases.values())
    setup_rows.append(["total", f"{ms(worker_setup):.1f}"])
    print(table(["phase", "ms"], setup_rows))

    print(f"\nSynthetic suite: {args.synthetic_tests} chain tests, {args.repeats} runs each")
    walls = measure_xdist(args.synthetic_tests, args.repeats)
    speedup = walls["0"] / walls["2"]
    print(
        table(["workers", "wall s"], [["-n 0", f"{walls['0']:.2f}"], ["-n 2", f"{walls['2']:.2f}"]])
    )

    default_cycle = statistics.median(results["delete"]["cycle"])
    truncate_cycle = statistics.median(results["truncate"]["cycle"])
    empty_cleanup = ms(statistics.median(results["delete"]["empty"]))
    print(
        f"\nsummary: cycle_ratio={default_cycle / base_cycle:.2f} "
        f"empty_cleanup_ms={empty_cleanup:.3f} "
        f"truncate_cycle_ratio={truncate_cycle / base_cycle:.2f} "
        f"xdist_speedup={speedup:.2f} worker_setup_ms={ms(worker_setup):.0f}"
    )


if __name__ == "__main__":
    main()
