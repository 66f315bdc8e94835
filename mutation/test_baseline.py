"""The mutation tool's baseline: suites that fail before any mutant say why.

Here, with the mutation tool's own tests: the baseline runs under pytest-cov, which only
the mutation session installs; it runs the suites in a pytest of their own (seconds).
"""

import pytest

from mutation import run


def test_suites_that_fail_without_a_mutant_say_why(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)  # a test database, if one is set
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "conftest.py").write_text("import a_module_nobody_installed\n")
    target = run.Target(paths=("m.py",), suites=("tests",))
    with pytest.raises(SystemExit) as stopped:
        run._run_target(target, tmp_path, tmp_path / "work", run._environment(tmp_path, "x"), set())
    assert "the suites fail without any mutant" in str(stopped.value)
    assert "No module named 'a_module_nobody_installed'" in str(stopped.value)
