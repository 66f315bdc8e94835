"""Mutation testing: ``nox -s mutation [-- TARGET ...]``; do the suites catch bugs?

Each mutant is one small change to one module (a flipped comparison, ``True`` for
``False``, a number off by one, an exception handler that no longer matches, a loop
that never runs, a removed decorator — and, from ``mutation/operators.py``, a call or
assignment deleted, an exception handler emptied, a returned value made ``None``),
applied alone; the tests of the target's suites that execute the changed lines then run
with ``-x`` (``mutation/select.py``; one replacement per operator: ``mutation/operators.py``).
A mutant they fail on is *killed*; one they pass on *survived*: a bug the tests would let
through, unless the change does not alter behaviour (an *equivalent* mutant, listed with
its reason in ``mutation/equivalent.toml``).

The tool is Cosmic Ray (https://github.com/sixty-north/cosmic-ray): it mutates the
module's source file and imports nothing itself, so module-level definitions (the
models' columns, regexes, constant tables) are mutated like any function body, which
mutmut 3's per-function trampolines cannot do. A target's mutants run one at a time, in a copy
of the checkout of its own (your files are never changed, even if the run is killed), on
test databases of its own (``…_mut_<module>_test``), so a parallel ``nox`` — or
another target, ``--jobs N`` — is not disturbed.

Targets: the app's modules (``config``, ``services``, ``models``) and every module of
the plugin, each on its own tests first, then the fast suites (never the reliability
suite). ``--changed [BASE]`` mutates only the lines a branch changed.

Prints every survivor with its diff, the equivalent mutants with their reasons, a table
per module and, last, ``summary: mutation_score=<killed/(total - equivalent)>
killed=<n> survived=<n> equivalent=<n>``. Exits 1 if a module's score is under its
floor: 100 % for the guard, 90 % for every other module.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import contextlib
import fcntl
import hashlib
import os
import shlex
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

from mutation.select import write_map
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


PLUGIN = "packages/pytest-flask-pgdb/src/pytest_flask_pgdb"
PARITY_SUITES = (
    "tests/machinery/test_parity_drift.py",
    "tests/machinery/test_parity_stairway.py",
    "packages/pytest-flask-pgdb/tests",
    "tests/unit",
    "tests/schema",
)

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
        (f"{PLUGIN}/reset/cleanup.py",),
        (
            "tests/machinery/test_cleanup_paths.py",
            "tests/integration/test_isolation.py",
            "tests/machinery/test_misbehaving_tests.py",
            *FAST_SUITES,
        ),
    ),
    "guard": Target(
        (f"{PLUGIN}/databases/guard.py",),
        (
            "packages/pytest-flask-pgdb/tests/test_names.py",
            "tests/machinery/test_safety.py",
            *FAST_SUITES,
        ),
    ),
}


def _plugin_targets() -> dict[str, Target]:
    """Every other module of the plugin, named by its path (``databases/lifecycle``): its
    own tests first (files named after it), then the fast suites (parity's for parity)."""
    targets = {}
    named = {path for t in TARGETS.values() for path in t.paths}
    for module in sorted((ROOT / PLUGIN).rglob("*.py")):
        path = module.relative_to(ROOT).as_posix()
        if path in named or not _has_code(module):
            continue
        stem = module.stem.strip("_") or module.parent.name
        own = sorted(
            found.relative_to(ROOT).as_posix()
            for pattern in (f"test_{stem}*.py", f"test_*{stem}.py")
            for folder in ("packages/pytest-flask-pgdb/tests", "tests/unit", "tests/machinery")
            for found in (ROOT / folder).glob(pattern)
        )
        rest = PARITY_SUITES if "/parity/" in path else FAST_SUITES
        name = module.relative_to(ROOT / PLUGIN).with_suffix("").as_posix()
        targets[name] = Target((path,), (*dict.fromkeys(own), *rest))
    return targets


def _has_code(module: Path) -> bool:
    """More than a docstring and imports: something a mutant could change."""
    tree = ast.parse(module.read_text())
    return any(
        not isinstance(node, ast.Import | ast.ImportFrom)
        and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        for node in tree.body
    )


TARGETS |= _plugin_targets()

PYTEST = ("python", "-m", "pytest", "-x", "-q", "-p", "no:randomly", "-p", "no:cacheprovider")


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
    parser.add_argument(
        "--changed",
        nargs="?",
        const="main",
        metavar="BASE",
        help="mutate only the lines that differ from BASE (default main), committed or not: "
        "the targets whose modules a branch changed, and only there",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="with --work: print the report of the sessions there (finished or not), run nothing",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="run N targets at once, each in its own copy of the checkout (default 1)",
    )
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs {args.jobs}: give 1 or more")
    for flag in ("survivors", "report"):
        if getattr(args, flag) and args.work is None:
            parser.error(f"--{flag} needs --work, the directory of an earlier run")
    unknown = sorted(set(args.targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}: choose from {', '.join(TARGETS)}")
    names = args.targets or list(TARGETS)
    changed = _changed_lines(args.changed) if args.changed else None
    if changed is not None:
        names = [n for n in names if any(p in changed for p in _modules(TARGETS[n]))]
        print(f"changed since {args.changed}: {', '.join(names) or 'no target'}", flush=True)
    equivalent = _load_equivalent()
    if args.report:
        sessions = [args.work / name / "session.sqlite" for name in names]
        found = [session for session in sessions if _has_results(session)]
        if not found:
            sys.exit(f"no session with results in {args.work} for {', '.join(names)}")
        status = _print_report([m for s in found for m in _read_session(s, equivalent)], equivalent)
        pending = sum(_pending(session) for session in found)
        if pending:  # a stopped run: its score is not the module's yet
            print(f"not run yet: {pending} mutants (the run was stopped; --survivors resumes it)")
        return status or (1 if pending else 0)
    with contextlib.ExitStack() as stack:
        work = args.work or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="mutation-"))
        )

        def run(name: str) -> list[Mutant]:
            _lock_target_directory(stack, work / name)
            # A checkout per target: Cosmic Ray mutates its files in place.
            checkout = _copy_checkout(work / name / "checkout")
            env = _environment(checkout, database_label(name))
            print(f"== {name}: {', '.join(TARGETS[name].paths)}", flush=True)
            try:
                found = _run_target(
                    TARGETS[name], checkout, work / name, env, equivalent, args.survivors, changed
                )
            except SystemExit as stop:  # said now, not when the targets before it are done
                print(f"== {name}: stopped: {stop}", flush=True)
                raise
            print(f"== {name}: done, {_row(name, Counter(m.outcome for m in found))}", flush=True)
            return found

        pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
        try:
            futures = [pool.submit(run, name) for name in names]
            mutants = [m for future in futures for m in future.result()]
        finally:  # a target that fails stops the ones not yet started
            pool.shutdown(cancel_futures=True)
    return _print_report(mutants, equivalent)


def _modules(target: Target) -> list[str]:
    """The module files a target mutates, relative to the checkout."""
    files = []
    for path in target.paths:
        found = [ROOT / path] if path.endswith(".py") else sorted((ROOT / path).rglob("*.py"))
        files += [f.relative_to(ROOT).as_posix() for f in found]
    return files


def _changed_lines(base: str) -> dict[str, set[int]]:
    """The lines of each Python file that differ from ``base`` (the working tree's)."""
    try:
        diff = subprocess.run(
            ["git", "diff", "-U0", "--no-color", base, "--", "*.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except subprocess.CalledProcessError as exc:
        sys.exit(f"--changed {base}: git diff failed: {exc.stderr.strip()}")
    return _added_lines(diff)


def _added_lines(diff: str) -> dict[str, set[int]]:
    """The new side's line numbers of each file in a ``git diff -U0``."""
    lines: dict[str, set[int]] = {}
    current = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            current = line[6:] if line.startswith("+++ b/") else None
        elif line.startswith("@@") and current is not None:
            added = line.split("+", 1)[1].split(" ", 1)[0]
            start, _, count = added.partition(",")
            span = range(int(start), int(start) + int(count or 1))
            lines.setdefault(current, set()).update(span)
    return lines


def _skip_unchanged_lines(session: Path, changed: dict[str, set[int]]) -> None:
    """Mutants on lines ``--changed`` did not find changed are never run."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    with use_db(str(session), mode=WorkDB.Mode.open) as db:
        for item in db.pending_work_items:
            [mutation] = item.mutations
            touched = set(range(mutation.start_pos[0], mutation.end_pos[0] + 1))
            if not touched & changed.get(Path(mutation.module_path).as_posix(), set()):
                db.set_result(
                    item.job_id,
                    WorkResult(output="unchanged", worker_outcome=WorkerOutcome.SKIPPED),
                )


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


def _lock_target_directory(stack: contextlib.ExitStack, directory: Path) -> None:
    """One run at a time in a target's directory: two would overwrite each other's
    checkout and session ("attempt to write a readonly database")."""
    directory.mkdir(parents=True, exist_ok=True)
    handle = stack.enter_context((directory / ".lock").open("w"))
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"another mutation run is using {directory}: give this one another --work")


def database_label(target: str) -> str:
    """``mut_<module>`` (``mut_lifecycle``): short, since the suites add labels of their own
    (``…_mut_session_defaults_realistic_delete_test`` must fit in 63 characters)."""
    *package, module = ["pgdb", *target.split("/")]
    stem = module.strip("_")
    return f"mut_{package[-1]}_init" if stem == "init" else f"mut_{stem}"  # __init__.py


def _environment(checkout: Path, label: str) -> dict[str, str]:
    """The copy's sources first on the path, no stale bytecode, databases of our own.

    ``label`` names them (``…_mut_guard_test``): two mutation runs of different
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
    equivalent: dict[tuple, str],
    survivors_only: bool = False,
    changed: dict[str, set[int]] | None = None,
) -> list[Mutant]:
    work.mkdir(parents=True, exist_ok=True)
    session = work / "session.sqlite"
    config = work / "cosmic-ray.toml"
    sources = work / "sources.sha256"
    if survivors_only and not session.exists():
        sys.exit(f"no session of this target in {work}: run it without --survivors first")
    if survivors_only and sources.read_text() != _sources_digest(target, checkout):
        sys.exit(f"{', '.join(target.paths)} changed since {work}: run without --survivors")
    command = [*PYTEST, *target.suites]
    started = time.monotonic()
    # Once without a mutant, under coverage: which test executes which line.
    coverage = [
        *("-p", "pytest_cov", "--cov-context=test", "--cov-report="),
        *(
            f"--cov={(checkout / path).parent if path.endswith('.py') else checkout / path}"
            for path in target.paths
        ),
    ]
    baseline = subprocess.run(
        [*PYTEST, *coverage, *target.suites],
        cwd=checkout,
        env={**env, "COVERAGE_FILE": str(work / "coverage")},
        capture_output=True,
    )
    if baseline.returncode != 0:
        output = (baseline.stdout + baseline.stderr).decode(errors="replace")
        sys.exit(f"the suites fail without any mutant ({shlex.join(command)}):\n{output[-3000:]}")
    timeout = max(30.0, 4 * (time.monotonic() - started))
    from cosmic_ray import plugins  # the mutation session's; the unit tests import this module

    from mutation.operators import excluded_operators

    selection, pristine = work / "selection.json", work / "pristine"
    modules = _modules(target)
    write_map(work / "coverage", checkout, modules, list(PYTEST), list(target.suites), selection)
    for module in modules:
        (pristine / module).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(checkout / module, pristine / module)
    # The map was made just now: a survivor meets the tests written for it.
    test_command = [sys.executable, "-m", "mutation.select", str(selection), str(pristine)]
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = {list(target.paths)!r}\n"
        f"timeout = {timeout:.0f}\n"
        "excluded-modules = []\n"
        f"test-command = {shlex.join(test_command)!r}\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
        "[cosmic-ray.filters.operators-filter]\n"
        f"exclude-operators = {excluded_operators(plugins.operator_names())!r}\n"
    )
    cosmic = [sys.executable, "-m", "mutation.cosmic"]  # with our deletion operators
    if survivors_only:
        with sqlite3.connect(session) as db:  # survivors become pending work again
            db.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'")
        _settle_listed_equivalents(session, checkout, equivalent)
    else:
        for args in (
            ("init", "--force", config, session),
            ("--filter-operators", session, config),
        ):
            subprocess.run([*cosmic, *map(str, args)], cwd=checkout, env=env, check=True)
        _skip_signature_annotations(session, checkout)
        _settle_listed_equivalents(session, checkout, equivalent)
        if changed is not None:
            _skip_unchanged_lines(session, changed)
        sources.write_text(_sources_digest(target, checkout))
    subprocess.run(
        [*cosmic, "exec", str(config), str(session)],
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


def _settle_listed_equivalents(session: Path, checkout: Path, equivalent: dict[tuple, str]) -> None:
    """Mutants listed in ``equivalent.toml`` are recorded as made, not run: no test can
    kill them, and each would otherwise run every suite to the end."""
    from cosmic_ray import plugins
    from cosmic_ray.mutating import MutationVisitor, _make_diff
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    from mutation.cosmic import PROVIDER
    from mutation.operators import Provider

    plugins.OPERATOR_PROVIDERS.setdefault(PROVIDER, Provider())
    listed = {key[:3] for key in equivalent}
    with use_db(str(session), mode=WorkDB.Mode.open) as db:
        for item in db.pending_work_items:
            [mutation] = item.mutations
            module = Path(mutation.module_path).as_posix()
            if (module, mutation.start_pos[0], mutation.operator_name) not in listed:
                continue
            source = (checkout / module).read_text()
            operator = plugins.get_operator(mutation.operator_name)()
            mutated = MutationVisitor.mutate_code(source, operator, mutation.occurrence)
            if mutated is None:
                continue
            diff = "\n".join(_make_diff(source, mutated, module))
            key = (module, mutation.start_pos[0], mutation.operator_name, _mutated_line(diff))
            if key in equivalent:
                db.set_result(
                    item.job_id,
                    WorkResult(
                        output="listed in mutation/equivalent.toml: not run",
                        diff=diff,
                        worker_outcome=WorkerOutcome.NORMAL,
                        test_outcome=TestOutcome.SURVIVED,
                    ),
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


def _has_results(session: Path) -> bool:
    if not session.is_file():
        return False
    with contextlib.closing(sqlite3.connect(session)) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        return "work_results" in tables and bool(
            db.execute("SELECT count(*) FROM work_results").fetchone()[0]
        )


def _pending(session: Path) -> int:
    from cosmic_ray.work_db import WorkDB, use_db

    with use_db(str(session), mode=WorkDB.Mode.open) as db:
        return sum(1 for _ in db.pending_work_items)


def _read_session(session: Path, equivalent: dict[tuple, str]) -> list[Mutant]:
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


def _load_equivalent() -> dict[tuple, str]:
    """(module, line, operator, the mutated line) of each mutant listed as equivalent,
    with the reason why it cannot change behaviour."""
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
    return {(e["module"], e["line"], e["operator"], e["mutated"]): e["reason"] for e in entries}


# The share of non-equivalent mutants a module's suites must kill (the rest: 90 %).
FLOORS = {f"{PLUGIN}/databases/guard.py": 1.0}
DEFAULT_FLOOR = 0.9


def _print_report(mutants: list[Mutant], equivalent: dict[tuple, str]) -> int:
    """Survivors with their diffs, the equivalent mutants with their reasons, a table per
    module and the summary line; 1 if a module's score is under its floor."""
    for mutant in mutants:
        if mutant.outcome == "survived":
            print(f"\nSURVIVED {mutant.module}:{mutant.line} {mutant.operator}")
            print(mutant.diff.rstrip())
            print(f"mutated line (for mutation/equivalent.toml): {_mutated_line(mutant.diff)}")
    seen = [m for m in mutants if m.outcome == "equivalent"]
    if seen:
        print("\nequivalent (not counted):")
    for mutant in seen:
        key = (mutant.module, mutant.line, mutant.operator, _mutated_line(mutant.diff))
        print(f"  {mutant.module}:{mutant.line} {mutant.operator}: {equivalent[key]}")
    print(f"\n{'module':<48} {'total':>6} {'killed':>7} {'survived':>9} {'equiv.':>7} {'score':>7}")
    by_module: dict[str, Counter[str]] = {}
    for mutant in mutants:
        by_module.setdefault(mutant.module, Counter())[mutant.outcome] += 1
    under = []
    for module, counts in sorted(by_module.items()):
        floor = FLOORS.get(module, DEFAULT_FLOOR)
        below = _score(counts) < floor
        print(_row(module, counts) + (f"  under {floor:.0%}" if below else ""))
        under += [module] if below else []
    total = Counter(m.outcome for m in mutants)
    print(_row("all", total))
    killed = total["killed"] + total["incompetent"]
    print(
        f"summary: mutation_score={_score(total):.3f} killed={killed} "
        f"survived={total['survived']} equivalent={total['equivalent']}"
    )
    return 1 if under else 0


def _score(counts: Counter[str]) -> float:
    killed = counts["killed"] + counts["incompetent"]
    scored = sum(counts.values()) - counts["equivalent"]
    return killed / scored if scored else 1.0


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
