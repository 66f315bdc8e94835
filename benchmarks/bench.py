"""What per-test cleanup, worker setup and xdist cost. Prints tables; asserts nothing.

    nox -s bench                     # or: python -m benchmarks.bench --rounds 250

Uses the tests' own server discovery (configured server, else a private cluster) and
test-database names (claude_headspace_bench_test...). The last line is machine-readable:

    summary: cycle_ratio=... empty_cleanup_ms=... truncate_cycle_ratio=... xdist_speedup=...
             worker_setup_ms=... cold_worker_setup_ms=... one_test_ratio=...
             parallel_vs_serial=... halves_speedup=... cpu_scaling=... realistic_reset_ms=...

``worker_setup_ms``: a worker's database ready on a warm run (the kept database taken
over); ``cold_worker_setup_ms``: after a schema change (template built and cloned);
``one_test_ratio``: one integration test, command to result, over a fresh interpreter
importing the same modules; ``parallel_vs_serial``: tests/integration under the
session's ``-n auto`` over ``-n 0``.

The last two are controls for ``xdist_speedup``, measured between its runs:
``halves_speedup`` is what two workers could give with no xdist cost at all (the suite
split in two, run as independent ``-n 0`` runs side by side); ``cpu_scaling`` is how
much more two CPU-bound processes get done than one on this machine, now.
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
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session
from tests.plugin_binding import app_database

import claude_headspace.models  # noqa: F401  -- registers the tables
from benchmarks import loop
from benchmarks.realistic_schema import realistic_metadata, write_rows
from claude_headspace.database import db
from claude_headspace.models import Agent, Event, Project, Task, TaskState
from claude_headspace.models.turn import Turn, TurnActor, TurnIntent
from pytest_flask_pgdb.databases.connections import admin_engine
from pytest_flask_pgdb.databases.lifecycle import TestDatabase
from pytest_flask_pgdb.databases.names import url_for_test_database
from pytest_flask_pgdb.databases.server import Server, connect_server
from pytest_flask_pgdb.reset.after_test import reset_after_test
from pytest_flask_pgdb.reset.cleanup import DatabaseCleaner
from pytest_flask_pgdb.reset.fence import PoolWatch
from pytest_flask_pgdb.reset.isolation import (
    CATALOG_CHECK,
    COUNTED_CHECK,
    DDL_COUNTER_SETUP,
    SESSION_STATE,
)
from pytest_flask_pgdb.settings import (
    CLEANUP_STRATEGIES,
    DEFAULT_CLEANUP_STRATEGY,
    SettingsError,
    TestSettings,
    read_settings,
)

ROOT = Path(__file__).resolve().parents[1]
LABEL = "bench"
RUN = uuid.uuid4().hex  # marks the benchmark's own databases


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


def measure_cleanup(
    urls: dict[str, URL], rounds: int, claims: dict[str, int | None]
) -> dict[str, dict[str, list[float]]]:
    """Round-robin over the modes, so drift in the machine hits every mode alike.

    Each mode has its own database: TRUNCATE gives tables new files, which would make
    the next mode's inserts extend fresh files and skew its numbers.
    """
    engines = {mode: create_engine(url, pool_size=2) for mode, url in urls.items()}
    admins = {mode: admin_engine(urls[mode]).connect() for mode in ("truncate", "delete")}
    cleaners = {
        # As the plugin makes them: checking the run's claim in every cleanup.
        mode: DatabaseCleaner(connection, db.metadata, mode, run=RUN, claim_pid=claims[mode])
        for mode, connection in admins.items()
    }
    print(f"schema-change detection in the cleanup: {cleaners['delete'].detection}")
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


def measure_realistic_reset(
    server: Server, settings: TestSettings, rounds: int
) -> dict[str, dict[str, list[float]]]:
    """The whole reset after a test (pool checks, cleanup, catalog check) on a schema like
    a real app's (benchmarks/realistic_schema.py), per strategy, round-robin.

    Each round a test writes ~15 rows through an app-like pooled engine, commits, and
    ``reset_after_test`` runs as ``pgdb_clean`` runs it (the pool checks side by side
    with the cleanup); in the same round the two parts are also timed one after the
    other, after the same writes. For comparison, a ``TRUNCATE`` typed by hand (what the
    TRUNCATE strategy runs, without the plugin around it) on a database of its own.
    """
    metadata = realistic_metadata()
    tables = ", ".join(t.name for t in metadata.sorted_tables)
    samples: dict[str, dict[str, list[float]]] = {"by hand": {"TRUNCATE typed by hand": []}}
    setups = {}
    made: list[TestDatabase] = []

    def database(label: str) -> TestDatabase:
        name = url_for_test_database(settings.test_url, label=f"{LABEL}_real_{label}")
        made.append(TestDatabase(server, str(name.database), run=RUN, project=settings.project))
        made[-1].setup(metadata)
        return made[-1]

    try:
        for strategy in CLEANUP_STRATEGIES:
            own = database(strategy)
            admin = admin_engine(own.url)
            cleaner = DatabaseCleaner(
                admin.connect(), metadata, strategy, run=RUN, claim_pid=own.claim_pid
            )
            engine = create_engine(own.url, pool_size=5)
            watch = PoolWatch(engine, cleaner.expected_pids.add)
            setups[strategy] = (own, admin, cleaner, engine, watch)
            samples[strategy] = {"reset": [], "pool checks": [], "cleanup": []}
        hand = admin_engine(database("hand").url)
        for round_ in range(rounds + 10):  # 10 warm-up rounds, not counted
            with hand.connect() as connection:
                write_rows(connection)
                start = time.perf_counter()
                connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
                if round_ >= 10:
                    samples["by hand"]["TRUNCATE typed by hand"].append(time.perf_counter() - start)
            for strategy, (own, _, cleaner, engine, watch) in setups.items():
                with engine.connect() as connection:
                    write_rows(connection)
                    connection.commit()
                start = time.perf_counter()
                watch.fence([], "bench")
                watch.dirty_sessions()
                checked = time.perf_counter()
                cleaner.clean()
                cleaned = time.perf_counter()
                with engine.connect() as connection:  # the test again, for the whole reset
                    write_rows(connection)
                    connection.commit()
                whole = time.perf_counter()
                outcome = reset_after_test(  # as pgdb_clean runs it: nothing left to do
                    "bench",
                    started_threads=[],
                    watch=watch,
                    engine=engine,
                    cleaner=cleaner,
                    database=own,
                    metadata=metadata,
                )
                end = time.perf_counter()
                if outcome.left or outcome.stop:  # the measurement is of a clean reset
                    raise RuntimeError(f"the reset found something to report: {outcome}")
                if round_ >= 10:
                    samples[strategy]["pool checks"].append(checked - start)
                    samples[strategy]["cleanup"].append(cleaned - checked)
                    samples[strategy]["reset"].append(end - whole)
    finally:
        for _, admin, cleaner, engine, watch in setups.values():
            watch.close()
            engine.dispose()
            cleaner.connection.close()
            admin.dispose()
        for made_database in made:
            made_database.teardown()
    return samples


def measure_detection(url: URL, rounds: int) -> dict[str, list[float]]:
    """What the isolation checks cost per test, each sent as its own statement.

    One of the two schema checks runs inside the cleanup's one round trip (the cleanup
    rows above include the one the cleaner chose, printed with them); the session-state
    check runs once per pooled connection a test used. Sent alone, each pays a round
    trip and its planning, which the cleanup's cached plpgsql function does not.
    """
    statements = {
        "round trip (SELECT 1), for reference": "SELECT 1",
        "DDL count check (superuser; in every cleanup)": f"SELECT {COUNTED_CHECK}",
        "catalog check (otherwise; in every cleanup)": f"SELECT {CATALOG_CHECK}",
        "session state of one pooled connection": SESSION_STATE,
    }
    samples: dict[str, list[float]] = {label: [] for label in statements}
    engine = create_engine(url, pool_size=1)
    with engine.connect() as connection:
        connection.exec_driver_sql(DDL_COUNTER_SETUP)
        connection.commit()
        for _ in range(rounds):
            for label, statement in statements.items():
                start = time.perf_counter()
                connection.exec_driver_sql(statement).all()
                samples[label].append(time.perf_counter() - start)
            connection.rollback()
    engine.dispose()
    return samples


SYNTHETIC_CONFTEST = """
import pytest

from tests.conftest import (  # the app's binding
    pgdb_app_factory,
    pgdb_metadata,
    pgdb_migrations_directory,
    pytest_pgdb_app_database,
)


@pytest.fixture(autouse=True)
def _clean(pgdb_clean):
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


SPIN = """
import time
start = time.perf_counter()
total = 0
for i in range({loops}):
    total += i
print(time.perf_counter() - start)
"""


def measure_cpu_scaling(loops: int = 5_000_000) -> float:
    """How much more two CPU-bound processes get done than one, on this machine, now.

    The ceiling for any ``-n 2`` speed-up: 2.0 on two idle, dedicated cores, less on
    virtual cores whose host is busy.
    """

    def slowest_of(count: int) -> float:
        command = [sys.executable, "-c", SPIN.format(loops=loops)]
        processes = [
            subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(count)
        ]
        return max(float(process.communicate()[0]) for process in processes)

    alone = slowest_of(1)
    return 2 * alone / slowest_of(2)


@dataclass
class XdistResult:
    """Median wall times (s) of the synthetic suite, and what the machine allows."""

    serial: float  # -n 0
    xdist: float  # -n 2
    halves: float  # two -n 0 runs of half the suite each, side by side: no xdist at all
    cpu_scaling: float  # two CPU-bound processes vs one

    @property
    def speedup(self) -> float:
        return self.serial / self.xdist

    @property
    def halves_speedup(self) -> float:
        return self.serial / self.halves


def measure_xdist(tests: int, repeats: int, files: int = 10) -> XdistResult:
    """Whole pytest runs of ``tests`` chain tests, the variants interleaved ``repeats`` times.

    Two controls sit between them: the machine's CPU scaling, and the suite split in two
    halves run side by side as independent ``-n 0`` runs, which is what two workers could
    do with no xdist cost at all.
    """
    walls: dict[str, list[float]] = {"serial": [], "xdist": [], "halves": [], "cpu": []}
    with tempfile.TemporaryDirectory(prefix="headspace-bench-") as tmp:
        suite = Path(tmp)
        (suite / "conftest.py").write_text(SYNTHETIC_CONFTEST)
        modules = [str(suite / f"test_chain_{index}.py") for index in range(files)]
        for module in modules:
            Path(module).write_text(SYNTHETIC_TESTS.format(count=tests // files))
        halves = [modules[: files // 2], modules[files // 2 :]]

        def start(paths: list[str], workers: str, name: str) -> subprocess.Popen[str]:
            env = dict(os.environ, DATABASE_NAME=f"claude_headspace_{name}", PYTHONPATH=str(ROOT))
            # Python's default: bytecode and pytest's rewritten test modules are cached
            # after the first run. With PYTHONDONTWRITEBYTECODE every worker would
            # recompile them, measuring the setting rather than the framework.
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            command = [sys.executable, "-m", "pytest", *paths, "-q", "-n", workers]
            command += ["--rootdir", str(suite), "-p", "no:randomly", "-p", "no:cacheprovider"]
            command += ["-p", "no:faker"]  # as pyproject.toml: faker's plugin costs 0.6 s
            # Our project, as pyproject.toml says (the suite's rootdir has no ini): what the
            # runs keep is listed, swept and removed with the project's other caches.
            command += ["-o", "pgdb_project=claude_headspace"]
            return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT)

        def run(*runs: tuple[list[str], str, str]) -> tuple[float, str]:
            began = time.perf_counter()
            processes = [start(*spec) for spec in runs]
            outputs = [process.communicate()[0] for process in processes]
            wall = time.perf_counter() - began
            for process, output in zip(processes, outputs, strict=True):
                if process.returncode != 0:
                    raise SystemExit(f"synthetic suite failed:\n{output[-2000:]}")
            return wall, " + ".join(output.strip().splitlines()[-1] for output in outputs)

        wall, passed = run(([str(suite)], "2", LABEL))
        print(f"  warm-up -n 2: {passed} ({wall:.2f} s wall, not counted)")
        for _ in range(repeats):
            walls["cpu"].append(measure_cpu_scaling())
            for key, label, runs in (
                ("serial", "-n 0", [([str(suite)], "0", LABEL)]),
                (
                    "halves",
                    "halves",
                    [(half, "0", f"{LABEL}_half{n}") for n, half in enumerate(halves)],
                ),
                ("xdist", "-n 2", [([str(suite)], "2", LABEL)]),
            ):
                wall, passed = run(*runs)
                walls[key].append(wall)
                print(f"  {label}: {passed} ({wall:.2f} s wall)")
            print(f"  two CPU-bound processes: {walls['cpu'][-1]:.2f}x one")
    medians = {key: statistics.median(values) for key, values in walls.items()}
    return XdistResult(
        serial=medians["serial"],
        xdist=medians["xdist"],
        halves=medians["halves"],
        cpu_scaling=medians["cpu"],
    )


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
    parser.add_argument(
        "--loops", type=int, default=3, help="runs of each daily-loop figure (setup, one test)"
    )
    args = parser.parse_args()
    loops = args.loops
    if args.rounds < 20:
        parser.error("--rounds must be at least 20")
    if args.synthetic_tests < 10 or args.repeats < 1:
        parser.error("--synthetic-tests must be at least 10 (one per file), --repeats at least 1")

    try:
        settings = read_settings(os.environ, app_database=app_database(os.environ))
    except SettingsError as exc:
        parser.error(exc.message)
    server = connect_server(settings, RUN)
    print(f"server: {server.describe()}")
    databases = {
        mode: TestDatabase(
            server,
            url_for_test_database(settings.test_url, label=f"{LABEL}_{mode}").database,
            run=RUN,
            project=settings.project,
            lock_wait=settings.lock_wait,
        )
        for mode in MODES
    }
    try:
        for database in databases.values():
            database.setup(db.metadata)
        results = measure_cleanup(
            {m: d.url for m, d in databases.items()},
            args.rounds,
            {m: d.claim_pid for m, d in databases.items()},
        )
        detection = measure_detection(databases["delete"].url, args.rounds)
        realistic = measure_realistic_reset(server, settings, args.rounds)
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

    print("\nIsolation checks per test (median, p90), ms")
    print(
        table(
            ["check", "median", "p90"],
            [[label, *(f"{v:.3f}" for v in stats(v))] for label, v in detection.items()],
        )
    )

    tables = len(realistic_metadata().tables)
    print(
        f"\nReset after a test on a realistic schema ({tables} tables, a RESTRICT foreign-key "
        f"cycle, self-references, wide tables), {args.rounds} rounds, median / p90, ms"
    )
    print(
        table(
            ["strategy", "reset", "p90", "parts one after the other: pool checks", "cleanup"],
            [
                [
                    strategy + (" (default)" if strategy == DEFAULT_CLEANUP_STRATEGY else ""),
                    *(f"{v:.2f}" for v in stats(parts["reset"])),
                    f"{stats(parts['pool checks'])[0]:.2f}",
                    f"{stats(parts['cleanup'])[0]:.2f}",
                ]
                for strategy, parts in realistic.items()
                if strategy in CLEANUP_STRATEGIES
            ],
        )
    )
    hand = stats(realistic["by hand"]["TRUNCATE typed by hand"])
    print(
        f"TRUNCATE typed by hand, the same tables after the same writes: {hand[0]:.2f} "
        f"(p90 {hand[1]:.2f}). TRUNCATE's cost is per relation file (every table, index "
        "and TOAST table gets a new one), whatever the rows: the strategy for suites whose "
        "tests write many rows."
    )

    server = connect_server(settings, RUN)
    try:
        print(f"\nA worker's database, ready for its first test (median of {loops}), ms")
        setup = loop.measure_worker_setup(server, settings, RUN, loops)
        print(table(["", "ms"], [[k, f"{loop.median_ms(v):.1f}"] for k, v in setup.items()]))
        print(
            "cold: a schema no template exists for (the template is built, then cloned); "
            "warm: the database the previous run kept is checked and taken over"
        )
        print(f"\nClone strategies: CREATE DATABASE … TEMPLATE (median of {loops}), ms")
        clones = loop.measure_clone_strategies(server, settings, RUN, loops)
        print(
            table(["strategy", "ms"], [[k, f"{loop.median_ms(v):.1f}"] for k, v in clones.items()])
        )
    finally:
        server.release()

    print(f"\nOne integration test, command to result (median of {loops}), s")
    one = loop.measure_one_test(loops)
    one_ratio = statistics.median(one["one test"]) / statistics.median(one["imports only"])
    print(table(["", "s"], [[k, f"{statistics.median(v):.2f}"] for k, v in one.items()]))
    frozen = statistics.median(one["one test"]) / statistics.median(
        one["imports only, then gc.freeze()"]
    )
    print(f"ratio: {one_ratio:.2f}, to the frozen imports {frozen:.2f} ({loop.ONE_TEST})")

    print(f"\ntests/integration: the session's parallelism against serial (median of {loops}), s")
    parallel = loop.measure_parallelism(loops)
    rows = [[k, f"{statistics.median(v):.2f}"] for k, v in parallel.items()]
    print(table(["", "s"], rows))
    walls = [statistics.median(v) for v in parallel.values()]
    parallel_vs_serial = walls[0] / walls[1]

    print(f"\nSynthetic suite: {args.synthetic_tests} chain tests, {args.repeats} runs each")
    xdist = measure_xdist(args.synthetic_tests, args.repeats)
    print(
        table(
            ["median of the runs", "value"],
            [
                ["-n 0 wall, s", f"{xdist.serial:.2f}"],
                ["-n 2 wall, s", f"{xdist.xdist:.2f}"],
                ["-n 2 speed-up", f"{xdist.speedup:.2f}x"],
                ["two halves side by side, -n 0 each (no xdist): wall, s", f"{xdist.halves:.2f}"],
                ["  speed-up without xdist's own cost", f"{xdist.halves_speedup:.2f}x"],
                ["two CPU-bound processes vs one (the machine)", f"{xdist.cpu_scaling:.2f}x"],
            ],
        )
    )

    default_cycle = statistics.median(results["delete"]["cycle"])
    truncate_cycle = statistics.median(results["truncate"]["cycle"])
    empty_cleanup = ms(statistics.median(results["delete"]["empty"]))
    print(
        f"\nsummary: cycle_ratio={default_cycle / base_cycle:.2f} "
        f"empty_cleanup_ms={empty_cleanup:.3f} "
        f"truncate_cycle_ratio={truncate_cycle / base_cycle:.2f} "
        f"xdist_speedup={xdist.speedup:.2f} "
        f"worker_setup_ms={loop.median_ms(setup['warm']):.0f} "
        f"cold_worker_setup_ms={loop.median_ms(setup['cold']):.0f} "
        f"one_test_ratio={one_ratio:.2f} parallel_vs_serial={parallel_vs_serial:.2f} "
        f"halves_speedup={xdist.halves_speedup:.2f} cpu_scaling={xdist.cpu_scaling:.2f} "
        f"realistic_reset_ms={stats(realistic[DEFAULT_CLEANUP_STRATEGY]['reset'])[0]:.2f}"
    )


if __name__ == "__main__":
    main()
