"""The plugin knows the app only through its binding in tests/conftest.py."""

import subprocess
import sys
from pathlib import Path

import pytest_flask_pgdb

PACKAGE = Path(pytest_flask_pgdb.__file__).parent
MACHINERY = sorted(
    "pytest_flask_pgdb." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    for path in PACKAGE.rglob("*.py")
    if path.stem != "__init__"
)
APP = ("claude_headspace",)


def test_importing_every_plugin_module_imports_nothing_of_the_app():
    """In a fresh interpreter: what the imports pull in, directly or through others."""
    code = (
        "import sys\n"
        + "".join(f"import {module}\n" for module in MACHINERY)
        + f"print(sorted(m for m in sys.modules if m.startswith({APP!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert len(MACHINERY) > 15


def test_every_run_of_this_app_marks_its_databases_as_one_project(pytestconfig):
    """Mutation runs name their databases apart (claude_headspace_mutation_guard_test):
    one project still, so any run sweeps what a killed mutant run left."""
    assert pytestconfig.getini("pgdb_project") == "claude_headspace"
