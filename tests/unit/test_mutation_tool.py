"""The mutation session's own rules: what it does not run, what it will not count."""

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
    assert run._load_equivalent() == {("m.py", 3, "core/X", "x[-1]")}


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
