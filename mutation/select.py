"""Coverage-guided test selection: each mutant runs only the tests that execute its lines.

Before a target's mutants run, its suites run once under coverage with each test's node
id as the context (pytest-cov's ``--cov-context=test``); ``write_map`` keeps, for each
line of the target's modules, the tests that executed it. Cosmic Ray then runs
``python -m mutation.select SELECTION PRISTINE`` as each mutant's test command:
it finds the lines the mutant changed (the module against its pristine copy) and runs
those lines' tests, in the suites' order. A line that ran anywhere but in test bodies
gets every suite, as without selection: in a fixture (a session fixture runs in the
first test's setup, and every later test depends on it), at import (a module-level
definition), or only in a subprocess. Selection is sound for a test that does not
execute a changed line: it cannot see the change (tests here do not depend on their
order: pytest-randomly shuffles them every day). PIT and mutmut select the same way.
"""

from __future__ import annotations

import ast
import difflib
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path

RUN = "|run"  # pytest-cov's context of a test's body (beside |setup and |teardown)


def write_map(
    coverage_file: Path,
    checkout: Path,
    modules: Iterable[str],
    command: list[str],
    suites: list[str],
    out: Path,
) -> None:
    """The selection file of a target: its pytest command, its suites and, for each
    line of its modules, the tests that executed it (from a coverage file)."""
    from coverage import CoverageData

    data = CoverageData(basename=str(coverage_file))
    data.read()
    measured = {Path(name).resolve(): name for name in data.measured_files()}
    lines: dict[str, dict[int, list[str]]] = {}
    for module in modules:
        name = measured.get((checkout / module).resolve())
        by_line = data.contexts_by_lineno(name) if name else {}
        # Coverage records a statement at its first line; a mutant may change any of them.
        starts = statement_starts((checkout / module).read_text())
        lines[module] = {line: _selected(by_line.get(start, ())) for line, start in starts.items()}
    out.write_text(json.dumps({"command": command, "suites": suites, "lines": lines}))


def statement_starts(source: str) -> dict[int, int]:
    """Each line of a module → the first line of the innermost statement holding it."""
    statements = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.stmt)]
    starts: dict[int, int] = {}
    # Widest first, so that a nested statement's lines end up with its own start.
    for node in sorted(
        statements, key=lambda n: (n.end_lineno or n.lineno) - n.lineno, reverse=True
    ):
        for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
            starts[line] = node.lineno
    return starts


def _selected(contexts: Iterable[str]) -> list[str]:
    """The tests to run for a line executed in these contexts; none (every suite) for a
    line that ran outside a test's body: in a fixture's setup or teardown (a session
    fixture runs in the first test's setup, yet every later test depends on what it did),
    or at import."""
    contexts = list(contexts)
    if not contexts or not all(context.endswith(RUN) for context in contexts):
        return []
    return sorted({context.removesuffix(RUN) for context in contexts})


def changed_lines(pristine: str, mutated: str) -> set[int]:
    """The pristine side's numbers of the lines a mutant changed (1-based)."""
    before, after = pristine.splitlines(), mutated.splitlines()
    changed: set[int] = set()
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag != "equal":
            changed.update(range(i1 + 1, max(i2, i1 + 1) + 1))
    return changed


def tests_for(
    lines: dict[str, dict[str, list[str]]], pristine: Path, checkout: Path
) -> list[str] | None:
    """The node ids of the tests that executed a changed line, or ``None`` when a changed
    line was executed by none (then every suite runs)."""
    selected: set[str] = set()
    for module, by_line in lines.items():
        before = (pristine / module).read_text()
        after = (checkout / module).read_text()
        if before == after:
            continue
        for line in changed_lines(before, after):
            tests = by_line.get(str(line))
            if not tests:
                return None
            selected.update(tests)
    return sorted(selected) or None


def in_suite_order(tests: Iterable[str], suites: list[str]) -> list[str]:
    """Node ids ordered by the first suite (file or folder) that holds them: a module's
    own tests, the likeliest to fail, run first."""

    def rank(node_id: str) -> tuple[int, str]:
        path = node_id.split("::", 1)[0]
        for index, suite in enumerate(suites):
            if path == suite or path.startswith(suite.rstrip("/") + "/"):
                return index, node_id
        return len(suites), node_id

    return sorted(tests, key=rank)


def main(argv: list[str]) -> int:
    """``SELECTION PRISTINE``: run the tests of the changed lines (or every suite)."""
    selection_file, pristine = map(Path, argv)
    selection = json.loads(selection_file.read_text())
    command, suites = selection["command"], selection["suites"]
    tests = tests_for(selection["lines"], pristine, Path.cwd())
    if tests is None:
        os.execvp(command[0], [*command, *suites])
    args = selection_file.with_suffix(".args")  # one mutant at a time per target
    args.write_text("\n".join(in_suite_order(tests, suites)) + "\n")
    os.execvp(command[0], [*command, f"@{args}"])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
