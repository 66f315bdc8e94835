"""Sessions: ``nox`` runs unit, integration and schema_parity; others on demand."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["unit", "integration", "schema_parity"]
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")


def install(session: nox.Session, *groups: str) -> None:
    """The project (editable) plus dependency groups, all from pyproject.toml.

    Byte-compiled at install time: uv does not compile by default, and with
    PYTHONDONTWRITEBYTECODE set every pytest process (and xdist worker) would compile
    SQLAlchemy and friends from source again, ~1.5 s each.
    """
    requirements = [r for g in groups for r in nox.project.dependency_groups(PYPROJECT, g)]
    session.install("-e", ".", *requirements, env={"UV_COMPILE_BYTECODE": "1"})


def run_pytest(session: nox.Session, path: str, *defaults: str) -> None:
    """pytest on ``path``; arguments after ``--`` replace the session's defaults."""
    install(session, "test")
    session.run("pytest", path, *(session.posargs or defaults))


@nox.session
def unit(session: nox.Session) -> None:
    """Fast tests of pure logic and mocked layers; no database at all."""
    run_pytest(session, "tests/unit", "-q")


@nox.session
def integration(session: nox.Session) -> None:
    """Real PostgreSQL: a database per xdist worker, emptied after every test."""
    run_pytest(session, "tests/integration", "-n", "auto", "-q")


@nox.session
def schema_parity(session: nox.Session) -> None:
    """Migrations and models build the same schema; every migration reverses."""
    run_pytest(session, "tests/schema", "-q")


@nox.session
def reliability(session: nox.Session) -> None:
    """Whole pytest runs in subprocesses: crashes, concurrency, outages, leaks, bad input."""
    run_pytest(session, "tests/reliability", "-q", "-p", "no:randomly")


@nox.session
def bench(session: nox.Session) -> None:
    """Cleanup strategies, worker setup and xdist scaling; prints tables."""
    install(session, "test")
    session.run("python", "benchmarks/bench.py", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    install(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def serve(session: nox.Session) -> None:
    """Set up: create the configured database, migrate it to head, serve the app."""
    install(session)
    env = {"FLASK_APP": "claude_headspace"}
    session.run("flask", "create-db", env=env)
    session.run("flask", "db", "upgrade", env=env)
    session.run("python", "-m", "claude_headspace", *session.posargs, env=env)
