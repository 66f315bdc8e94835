"""The daily loop's figures: worker setup (warm, cold), clone strategies, one test's
cost against importing the same modules, and the sessions' parallelism against serial.

Each figure is measured side by side in one run (alternating), as medians.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, Table, text

from claude_headspace.database import db
from pytest_flask_pgdb.databases import namespaces, templates
from pytest_flask_pgdb.databases.connections import admin_connection
from pytest_flask_pgdb.databases.lifecycle import TestDatabase
from pytest_flask_pgdb.databases.names import url_for_test_database
from pytest_flask_pgdb.databases.server import Server
from pytest_flask_pgdb.settings import TestSettings

ROOT = Path(__file__).resolve().parents[1]
ONE_TEST = "tests/integration/test_guide_example.py::test_health_endpoint_sees_the_database"
# Records what a pytest run imported, for the import-only baseline.
MODULES_PLUGIN = """
import sys
def pytest_unconfigure(config):
    with open({path!r}, "w") as out:
        out.write("\\n".join(sorted(sys.modules)))  # with pytest's own _pytest.*
"""


IMPORT_ALL = """
import gc
import importlib
for module in {modules!r}:
    try:
        importlib.import_module(module)
    except Exception:  # a module that only imports inside pytest: not counted
        pass
if {freeze!r}:
    gc.freeze()  # as the plugin does after collection: the exit skips what imports made
"""


def cold_metadata(n: int) -> MetaData:
    """The app's schema plus one table: a schema no template exists for yet."""
    metadata = MetaData()
    for table in db.metadata.sorted_tables:
        table.to_metadata(metadata)
    Table(
        f"bench_cold_{n}_{uuid.uuid4().hex[:8]}", metadata, Column("id", Integer, primary_key=True)
    )
    return metadata


def measure_worker_setup(
    server: Server, settings: TestSettings, run: str, repeats: int
) -> dict[str, list[float]]:
    """Namespace + claim + provide, ready for a first test: cold (a new schema: its template is
    built, then cloned) and warm (the database the previous run kept is checked and
    taken over), alternating; and the kept database's teardown.

    What it leaves (templates and a kept database of schemas of its own) is stale for
    the next run of the project, which drops it.
    """
    names = {
        kind: url_for_test_database(settings.test_url, label=f"bench_{kind}").database
        for kind in ("cold", "warm")
    }
    samples: dict[str, list[float]] = {"cold": [], "warm": [], "keep at the end": []}

    def one(name: str, metadata: MetaData, source: str) -> tuple[float, float, TestDatabase]:
        run = uuid.uuid4().hex
        start = time.perf_counter()
        namespace = namespaces.take(  # as a worker does (run.py): its session claims too
            server.maintenance_url,
            project=settings.project,
            base=settings.base_name,
            run=run,
            lock_wait=settings.lock_wait,
            where=server.describe(),
        )
        database = TestDatabase(
            server,
            name,
            run=run,
            project=settings.project,
            lock_wait=settings.lock_wait,
            admin=namespace.hand_over(),
        )
        database.claim()
        database.provide_schema(
            source,
            lambda: templates.metadata_ddl(metadata),
            lambda staging: database._build_in(staging, metadata),
        )
        ready = time.perf_counter()
        database.teardown(keep=True)
        return ready - start, time.perf_counter() - ready, database

    warm_metadata = cold_metadata(0)
    # The cold runs' schemas are of a source of their own: as after a real schema change,
    # each cold run drops the template before it, and the warm runs find nothing stale.
    one(names["warm"], warm_metadata, "metadata")  # the database the warm runs take over
    for n in range(repeats):
        samples["cold"].append(one(names["cold"], cold_metadata(n + 1), "bench_cold")[0])
        warm, keep, database = one(names["warm"], warm_metadata, "metadata")
        assert database.reused, "the warm run did not take over the kept database"
        samples["warm"].append(warm)
        samples["keep at the end"].append(keep)
    return samples


def measure_clone_strategies(
    server: Server, settings: TestSettings, run: str, repeats: int
) -> dict[str, list[float]]:
    """CREATE DATABASE … TEMPLATE the app's template, by each strategy, alternating."""
    database = TestDatabase(
        server,
        url_for_test_database(settings.test_url, label="bench_clone").database,
        run=run,
        project=settings.project,
    )
    samples: dict[str, list[float]] = {"WAL_LOG": [], "FILE_COPY": []}
    try:
        database.claim()
        database.provide(db.metadata)  # holds the app's template
        assert database.template is not None
        with admin_connection(server.maintenance_url) as connection:
            quote = connection.dialect.identifier_preparer.quote
            for n in range(repeats):
                for strategy in samples:
                    clone = url_for_test_database(
                        settings.test_url, label=f"bench_clone{n}{strategy.lower()}"
                    ).database
                    start = time.perf_counter()
                    connection.execute(
                        text(
                            f"CREATE DATABASE {quote(clone)} TEMPLATE "
                            f"{quote(database.template)} STRATEGY {strategy}"
                        )
                    )
                    samples[strategy].append(time.perf_counter() - start)
                    connection.execute(text(f"DROP DATABASE {quote(clone)}"))
    finally:
        database.teardown()
    return samples


def _pytest(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"pytest {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr}")
    return wall


def measure_one_test(repeats: int) -> dict[str, list[float]]:
    """Command to result for one integration test, against a fresh interpreter that
    imports exactly the modules that run imported (the ratio's baseline), and the same
    ending with ``gc.freeze()`` as the plugin does (what the machinery itself costs)."""
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="headspace-bench-") as tmp:
        (Path(tmp) / "bench_modules.py").write_text(
            MODULES_PLUGIN.format(path=str(Path(tmp) / "modules.txt"))
        )
        env["PYTHONPATH"] = os.pathsep.join([tmp, str(ROOT)])
        args = [ONE_TEST, "-q", "-p", "no:randomly"]
        _pytest([*args, "-p", "bench_modules"], env)  # warm: template and kept database
        modules = (Path(tmp) / "modules.txt").read_text().split()
        baselines = {
            "imports only": IMPORT_ALL.format(modules=modules, freeze=False),
            "imports only, then gc.freeze()": IMPORT_ALL.format(modules=modules, freeze=True),
        }
        samples: dict[str, list[float]] = {"one test": [], **{name: [] for name in baselines}}
        for _ in range(repeats):
            samples["one test"].append(_pytest(args, env))
            for name, importing in baselines.items():
                start = time.perf_counter()
                subprocess.run([sys.executable, "-c", importing], cwd=ROOT, env=env, check=True)
                samples[name].append(time.perf_counter() - start)
    return samples


def measure_parallelism(repeats: int) -> dict[str, list[float]]:
    """tests/integration as the nox session runs it (-n auto, sized by the plugin)
    against serial; the order alternates (ABBA), so neither always runs first."""
    env = dict(os.environ)
    modes = {"-n auto (the session's)": "auto", "serial": "0"}
    samples: dict[str, list[float]] = {name: [] for name in modes}
    for repeat in range(repeats):
        order = list(modes.items()) if repeat % 2 == 0 else list(modes.items())[::-1]
        for name, workers in order:
            samples[name].append(_pytest(["tests/integration", "-q", "-n", workers], env))
    return samples


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000
