"""The plugin knows the app only through its binding in tests/conftest.py."""

import ast
from pathlib import Path

import pytest_flask_pgdb

PACKAGE = Path(pytest_flask_pgdb.__file__).parent
APP = "claude_headspace"


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement in ``path`` names, at any depth of the code."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_no_plugin_module_imports_the_app():
    """Read from the source, so imports inside functions count too. (``nox -s plugin``
    imports the installed plugin where the app is not installed at all.)"""
    modules = sorted(PACKAGE.rglob("*.py"))
    mentioning_the_app = [path for path in modules if APP in path.read_text()]  # to parse
    importing_the_app = {
        str(path.relative_to(PACKAGE)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] == APP
        )
        for path in mentioning_the_app
    }
    assert {path: names for path, names in importing_the_app.items() if names} == {}
    assert len(modules) > 15
    assert "sqlalchemy" in imported_modules(PACKAGE / "databases" / "lifecycle.py")


def test_every_run_of_this_app_marks_its_databases_as_one_project(pytestconfig):
    """Mutation runs name their databases apart (claude_headspace_mutation_guard_test):
    one project still, so any run sweeps what a killed mutant run left."""
    assert pytestconfig.getini("pgdb_project") == "claude_headspace"
