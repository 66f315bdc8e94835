"""Run in a virtualenv holding only the plugin and its dependencies (``nox -s plugin``).

``pytest --help`` loads the plugin through its entry point, in a fresh interpreter, from
a directory with no conftest: it must show the plugin's options and import no app.
"""

import contextlib
import importlib.util
import io
import os
import sys
import tempfile

import pytest

os.chdir(tempfile.mkdtemp())
assert importlib.util.find_spec("claude_headspace") is None, "the app is installed here"
assert importlib.util.find_spec("flask") is None, "Flask is not a dependency of the plugin"
shown = io.StringIO()
with contextlib.redirect_stdout(shown):
    assert pytest.main(["--help"]) == 0
assert "--pgdb-cleanup" in shown.getvalue(), "the plugin's options are missing"
assert "pytest_flask_pgdb.plugin" in sys.modules, "the entry point did not load the plugin"
apps = sorted(m for m in sys.modules if m.split(".")[0] in {"claude_headspace", "flask"})
assert not apps, f"pytest --help imported {apps}"
print("pytest-flask-pgdb installed alone: pytest --help loads it and imports no app")
