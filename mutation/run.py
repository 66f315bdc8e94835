"""Mutation testing: ``nox -s mutation [-- TARGET ...]``; do the suites catch bugs?

Each mutant is one small change to one module (a flipped comparison, ``True`` for
``False``, a number off by one, an exception handler that no longer matches, a loop
that never runs, a removed decorator), applied alone; the target's suites then run with
``-x``. A mutant the suites fail on is *killed*; one they pass on *survived*: a bug the
tests would let through, unless the change does not alter behaviour (an *equivalent*
mutant, listed with its reason in ``mutation/equivalent.toml``).

The tool is Cosmic Ray (https://github.com/sixty-north/cosmic-ray): it mutates the
module's source file and imports nothing itself, so module-level definitions (the
models' columns, regexes, constant tables) are mutated like any function body, which
mutmut 3's per-function trampolines cannot do. Mutants run one at a time, in a copy of
the checkout (your files are never changed, even if the run is killed), on test
databases of their own (``…_mutation_<target>_test``), so a parallel ``nox`` is not disturbed.

Prints a table per module and, last, ``summary: mutation_score=<killed/(total -
equivalent)> killed=<n> survived=<n> equivalent=<n>``; every survivor is listed with its
diff. Exits 1 if a mutant survived that is not listed as equivalent.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from tests.plugin_binding import app_database

from pytest_flask_pgdb.databases.names import url_for_test_database
from pytest_flask_pgdb.settings import TEST_DATABASE_URL, read_settings

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENT_FILE = ROOT / "mutation" / "equivalent.toml"
FAST_SUITES = (
    "tests/unit",
    "packages/pytest-flask-pgdb/tests",
    "tests/integration",
    "tests/machinery",
)


@dataclass(frozen=True)
class Target:
    paths: tuple[str, ...]  # modules or packages, relative to the checkout
    suites: tuple[str, ...]  # what runs against each mutant, the likeliest killers first


# pytest collects a file named twice only once: naming a module's own tests first makes
# most mutants die in a second, without changing what a survivor has to pass.
TARGETS = {
    "config": Target(("src/claude_headspace/config.py",), ("tests/unit",)),
    "services": Target(("src/claude_headspace/services",), ("tests/unit",)),
    "models": Target(
        ("src/claude_headspace/models",),
        ("tests/integration/test_constraints.py", "tests/unit", "tests/integration"),
    ),
    "cleanup": Target(
        ("packages/pytest-flask-pgdb/src/pytest_flask_pgdb/reset/cleanup.py",),
        (
            "tests/machinery/test_cleanup_paths.py",
            "tests/integration/test_isolation.py",
            "tests/machinery/test_misbehaving_tests.py",
            *FAST_SUITES,
        ),
    ),
    "guard": Target(
        ("packages/pytest-flask-pgdb/src/pytest_flask_pgdb/databases/guard.py",),
        (
            "packages/pytest-flask-pgdb/tests/test_names.py",
            "tests/machinery/test_safety.py",
            *FAST_SUITES,
        ),
    ),
}

# Operators whose mutants say nothing about the tests: they insert or swap variable
# names at random (the same source gives different mutants on every run).
EXCLUDED_OPERATORS = ("core/VariableReplacer", "core/VariableInserter")

PYTEST = "python -m pytest -x -q -p no:randomly -p no:cacheprovider"


@dataclass(frozen=True)
class Mutant:
    module: str
    line: int
    operator: str
    outcome: str  # killed, survived, equivalent, incompetent
    diff: str


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s mutation --", description=__doc__)
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=", ".join(TARGETS))
    parser.add_argument(
        "--work",
        type=Path,
        help="keep the sessions in this directory (default: a temporary one, removed after)",
    )
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="with --work: run only the survivors of the sessions there again, against the "
        "tests as they are now (after writing a test for a survivor); refused if a mutated "
        "module changed since the session was made",
    )
    args = parser.parse_args(argv)
    if args.survivors and args.work is None:
        parser.error("--survivors needs --work, the directory of an earlier run")
    unknown = sorted(set(args.targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}: choose from {', '.join(TARGETS)}")
    names = args.targets or list(TARGETS)
    equivalent = _load_equivalent()
    with contextlib.ExitStack() as stack:
        work = args.work or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="mutation-"))
        )
        checkout = _copy_checkout(work / "checkout")
        mutants: list[Mutant] = []
        for name in names:
            print(f"== {name}: {', '.join(TARGETS[name].paths)}", flush=True)
            env = _environment(checkout, f"mutation_{name}")
            mutants += _run_target(
                TARGETS[name], checkout, work / name, env, equivalent, args.survivors
            )
    _print_report(mutants)
    return 1 if any(m.outcome == "survived" for m in mutants) else 0


def _copy_checkout(destination: Path) -> Path:
    """The tracked files of the checkout, without bytecode: mutants are made here."""
    shutil.rmtree(destination, ignore_errors=True)
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
    ).stdout.split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def _environment(checkout: Path, label: str) -> dict[str, str]:
    """The copy's sources first on the path, no stale bytecode, databases of our own.

    ``label`` names them (``…_mutation_guard_test``): two mutation runs of different
    targets, or a ``nox`` beside one, never share a database.
    """
    env = dict(os.environ)
    # The suites run under this interpreter's environment, even when run.py is started
    # without nox (which puts the session's bin first on PATH).
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    plugin = checkout / "packages" / "pytest-flask-pgdb" / "src"
    env["PYTHONPATH"] = os.pathsep.join([str(checkout / "src"), str(plugin), str(checkout)])
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a mutant of the same size and second as the last
    settings = read_settings(env, app_database=app_database(env))
    own = url_for_test_database(settings.test_url, label=label)
    stem = str(own.database).removesuffix("_test")
    if TEST_DATABASE_URL in env:
        env[TEST_DATABASE_URL] = own.render_as_string(hide_password=False)
    elif "DATABASE_URL" in env:  # keeps the private-cluster fallback, unlike TEST_DATABASE_URL
        env["DATABASE_URL"] = (
            make_url(env["DATABASE_URL"]).set(database=stem).render_as_string(hide_password=False)
        )
    else:
        env["DATABASE_NAME"] = stem
    return env


def _run_target(
    target: Target,
    checkout: Path,
    work: Path,
    env: dict[str, str],
    equivalent: set[tuple],
    survivors_only: bool = False,
) -> list[Mutant]:
    work.mkdir(parents=True, exist_ok=True)
    session = work / "session.sqlite"
    config = work / "cosmic-ray.toml"
    sources = work / "sources.sha256"
    if survivors_only and not session.exists():
        sys.exit(f"no session of this target in {work}: run it without --survivors first")
    if survivors_only and sources.read_text() != _sources_digest(target, checkout):
        sys.exit(f"{', '.join(target.paths)} changed since {work}: run without --survivors")
    command = f"{PYTEST} {' '.join(target.suites)}"
    started = time.monotonic()
    baseline = subprocess.run(command.split(), cwd=checkout, env=env, capture_output=True)
    if baseline.returncode != 0:
        output = (baseline.stdout + baseline.stderr).decode(errors="replace")
        sys.exit(f"the suites fail without any mutant ({command}):\n{output[-3000:]}")
    timeout = max(30.0, 4 * (time.monotonic() - started))
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = {list(target.paths)!r}\n"
        f"timeout = {timeout:.0f}\n"
        "excluded-modules = []\n"
        f"test-command = {command!r}\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
        "[cosmic-ray.filters.operators-filter]\n"
        f"exclude-operators = {list(EXCLUDED_OPERATORS)!r}\n"
    )
    cosmic = Path(sys.executable).parent
    if survivors_only:
        with sqlite3.connect(session) as db:  # survivors become pending work again
            db.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'")
    else:
        for tool, *args in (
            ("cosmic-ray", "init", "--force", config, session),
            ("cr-filter-operators", session, config),
        ):
            subprocess.run([str(cosmic / tool), *map(str, args)], cwd=checkout, env=env, check=True)
        _skip_signature_annotations(session, checkout)
        sources.write_text(_sources_digest(target, checkout))
    subprocess.run(
        [str(cosmic / "cosmic-ray"), "exec", str(config), str(session)],
        cwd=checkout,
        env=env,
        check=True,
    )
    return _read_session(session, equivalent)


def _sources_digest(target: Target, checkout: Path) -> str:
    """One digest of every module the target mutates, as the checkout has them."""
    digest = hashlib.sha256()
    for path in target.paths:
        files = (
            [checkout / path] if path.endswith(".py") else sorted((checkout / path).rglob("*.py"))
        )
        for file in files:
            digest.update(file.relative_to(checkout).as_posix().encode() + file.read_bytes())
    return digest.hexdigest()


def _skip_signature_annotations(session: Path, checkout: Path) -> None:
    """Mutants inside a function's parameter or return annotations are never run.

    Every module here starts with ``from __future__ import annotations``: signature
    annotations stay strings nobody evaluates, so ``str | None`` made ``str - None`` is
    equivalent by construction. Class-level annotations are mutated: SQLAlchemy reads
    the models' ``Mapped[...]`` ones.
    """
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    spans: dict[str, list[tuple[tuple[int, int], tuple[int, int]]]] = {}
    with use_db(str(session), mode=WorkDB.Mode.open) as db:
        for item in db.pending_work_items:
            [mutation] = item.mutations
            path = str(mutation.module_path)
            if path not in spans:
                spans[path] = _signature_annotation_spans((checkout / path).read_text())
            start, end = tuple(mutation.start_pos), tuple(mutation.end_pos)
            if any(low <= start and end <= high for low, high in spans[path]):
                db.set_result(
                    item.job_id,
                    WorkResult(output="signature annotation", worker_outcome=WorkerOutcome.SKIPPED),
                )


def _signature_annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    spans = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
            annotations = [a.annotation for a in every if a.annotation is not None]
            annotations += [node.returns] if node.returns is not None else []
            spans += [
                ((a.lineno, a.col_offset), (a.end_lineno or a.lineno, a.end_col_offset or 0))
                for a in annotations
            ]
    return spans


def _read_session(session: Path, equivalent: set[tuple]) -> list[Mutant]:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    mutants = []
    with use_db(str(session), mode=WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue  # an excluded operator
            [mutation] = item.mutations
            module = Path(mutation.module_path).as_posix()  # relative to the checkout
            line = mutation.start_pos[0]
            operator = mutation.operator_name
            if (module, line, operator, _mutated_line(result.diff or "")) in equivalent:
                outcome = "equivalent"
            elif result.test_outcome == TestOutcome.SURVIVED:
                outcome = "survived"
            elif result.test_outcome == TestOutcome.INCOMPETENT:
                outcome = "incompetent"  # does not even import: counts as killed
            else:
                outcome = "killed"
            mutants.append(Mutant(module, line, operator, outcome, result.diff or ""))
    return mutants


def _mutated_line(diff: str) -> str:
    """The line as the mutant has it (one operator application changes one line)."""
    added = [line[1:].strip() for line in diff.splitlines() if line.startswith("+")]
    return next((line for line in added if not line.startswith("++")), "")


def _load_equivalent() -> set[tuple]:
    """(module, line, operator, the mutated line) of each mutant listed as equivalent."""
    entries = tomllib.loads(EQUIVALENT_FILE.read_text()).get("equivalent", [])
    for entry in entries:
        missing = [
            k for k in ("module", "line", "operator", "mutated", "reason") if not entry.get(k)
        ]
        if missing:
            sys.exit(
                f"{EQUIVALENT_FILE}: every equivalent mutant needs a module, line, operator, "
                f"mutated line and reason; missing {', '.join(missing)} in {entry}"
            )
    return {(e["module"], e["line"], e["operator"], e["mutated"]) for e in entries}


def _print_report(mutants: list[Mutant]) -> None:
    for mutant in mutants:
        if mutant.outcome == "survived":
            print(f"\nSURVIVED {mutant.module}:{mutant.line} {mutant.operator}")
            print(mutant.diff.rstrip())
            print(f"mutated line (for mutation/equivalent.toml): {_mutated_line(mutant.diff)}")
    print(f"\n{'module':<48} {'total':>6} {'killed':>7} {'survived':>9} {'equiv.':>7} {'score':>7}")
    by_module: dict[str, Counter[str]] = {}
    for mutant in mutants:
        by_module.setdefault(mutant.module, Counter())[mutant.outcome] += 1
    for module, counts in sorted(by_module.items()):
        print(_row(module, counts))
    total = Counter(m.outcome for m in mutants)
    print(_row("all", total))
    killed = total["killed"] + total["incompetent"]
    scored = sum(total.values()) - total["equivalent"]
    print(
        f"summary: mutation_score={killed / scored if scored else 1:.3f} killed={killed} "
        f"survived={total['survived']} equivalent={total['equivalent']}"
    )


def _row(name: str, counts: Counter[str]) -> str:
    killed = counts["killed"] + counts["incompetent"]
    scored = sum(counts.values()) - counts["equivalent"]
    score = f"{100 * killed / scored:.1f}%" if scored else "-"
    return (
        f"{name:<48} {sum(counts.values()):>6} {killed:>7} {counts['survived']:>9} "
        f"{counts['equivalent']:>7} {score:>7}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
