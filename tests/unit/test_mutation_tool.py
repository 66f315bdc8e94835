"""The mutation session's own rules: what it does not run, what it will not count."""

import contextlib
import fcntl
import os
import sys
from pathlib import Path

import pytest
from mutation import run

SOURCE = """
from __future__ import annotations

class Model:
    column: Mapped[str | None] = None

def f(name: str | None, *args: int | None, flag: bool = True, **more: dict | None) -> int | None:
    return a | b
"""


def test_signature_annotations_are_skipped_and_class_annotations_are_not():
    spans = run._signature_annotation_spans(SOURCE)
    lines = SOURCE.splitlines()

    def covered(line, text, last=False):
        column = (lines[line - 1].rindex if last else lines[line - 1].index)(text)
        start, end = (line, column), (line, column + len(text))
        return any(low <= start and end <= high for low, high in spans)

    assert covered(7, "str | None")
    assert covered(7, "int | None")
    assert covered(7, "dict | None")
    assert covered(7, "int | None", last=True)  # the return annotation
    assert not covered(5, "str | None")  # SQLAlchemy evaluates Mapped[...] annotations
    assert not covered(8, "a | b")


def test_an_equivalent_mutant_without_a_reason_is_refused(tmp_path, monkeypatch):
    listed = tmp_path / "equivalent.toml"
    listed.write_text(
        '[[equivalent]]\nmodule = "m.py"\nline = 3\noperator = "core/X"\nmutated = "x[-1]"\n'
    )
    monkeypatch.setattr(run, "EQUIVALENT_FILE", listed)
    with pytest.raises(SystemExit, match="missing reason"):
        run._load_equivalent()
    listed.write_text(listed.read_text() + 'reason = "selects one column"\n')
    assert run._load_equivalent() == {("m.py", 3, "core/X", "x[-1]"): "selects one column"}


def test_an_equivalent_entry_names_one_mutant_by_its_mutated_line():
    diff = "--- mutation diff ---\n+++ b/m.py\n@@\n-    x = row[0]\n+    x = row[ -1]\n"
    assert run._mutated_line(diff) == "x = row[ -1]"


def test_the_checked_in_equivalents_all_say_why():
    assert run._load_equivalent()


def test_unknown_targets_are_refused_by_name(capsys):
    with pytest.raises(SystemExit):
        run.main(["guard", "nonsense"])
    assert "unknown target(s) nonsense" in capsys.readouterr().err


def test_survivors_again_needs_the_directory_of_an_earlier_run(capsys, tmp_path):
    with pytest.raises(SystemExit):
        run.main(["--survivors", "guard"])
    assert "--survivors needs --work" in capsys.readouterr().err


def test_the_suites_run_under_the_interpreter_of_the_session(tmp_path, monkeypatch):
    """Started without nox, the suites still find the session's packages."""
    monkeypatch.setenv("PATH", "/usr/bin")
    env = run._environment(tmp_path, "mutation_x")
    assert env["PATH"].split(os.pathsep) == [str(Path(sys.executable).parent), "/usr/bin"]


def test_every_module_of_the_plugin_with_code_is_a_target():
    plugin = Path(run.ROOT, run.PLUGIN)
    modules = {p.relative_to(run.ROOT).as_posix() for p in plugin.rglob("*.py") if run._has_code(p)}
    targeted = {path for target in run.TARGETS.values() for path in target.paths}
    assert modules - targeted == set()
    assert f"{run.PLUGIN}/databases/lifecycle.py" in targeted  # never in a run before
    assert run.TARGETS["reset/fence"].suites[-1] in run.FAST_SUITES  # not reliability
    assert "tests/machinery/test_parity_drift.py" in run.TARGETS["parity/snapshot"].suites


def test_changed_lines_are_the_new_side_of_each_hunk():
    diff = (
        "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -3 +3,2 @@ def f():\n"
        "-    x\n+    y\n+    z\n@@ -10,2 +11 @@\n-a\n-b\n+c\n@@ -20 +20,0 @@\n-gone\n"
        "diff --git a/n.py b/n.py\n--- /dev/null\n+++ b/n.py\n@@ -0,0 +1,2 @@\n+1\n+2\n"
    )
    assert run._added_lines(diff) == {"m.py": {3, 4, 11}, "n.py": {1, 2}}


def test_the_guard_must_be_all_killed_and_the_rest_nine_in_ten(capsys):
    guard = f"{run.PLUGIN}/databases/guard.py"
    nine = [run.Mutant("m.py", n, "op", "killed", "") for n in range(9)]
    one = [run.Mutant("m.py", 9, "op", "survived", "")]
    assert run._print_report([*nine, *one], {}) == 0
    assert run._print_report([*nine, *one, *one], {}) == 1  # 9 of 11: under 90 %
    assert run._print_report([run.Mutant(guard, 1, "op", "survived", ""), *nine], {}) == 1
    assert "under 100%" in capsys.readouterr().out


def test_each_target_names_databases_of_its_own_that_fit_every_label_of_the_suites():
    labels = {run.database_label(name) for name in run.TARGETS}
    assert len(labels) == len(run.TARGETS)
    # The longest a suite makes: another namespace and the cleanup tests' own label.
    for label in labels:
        assert len(f"claude_headspace_n2_{label}_realistic_delete_test") <= 63, label


def test_two_runs_in_one_work_directory_are_refused(tmp_path):
    """The second is told at once; it would overwrite the first one's checkout and session."""
    (tmp_path / "guard").mkdir()
    with (tmp_path / "guard" / ".lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with contextlib.ExitStack() as stack, pytest.raises(SystemExit, match="another mutation"):
            run._lock_target_directory(stack, tmp_path / "guard")
    with contextlib.ExitStack() as stack:
        run._lock_target_directory(stack, tmp_path / "guard")  # free again: taken
