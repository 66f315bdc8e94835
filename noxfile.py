"""Sessions: ``nox`` runs ``tests`` (the unit, integration and schema suites in one pytest
run); the others one suite each, or in CI and on demand."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import nox
from nox.virtualenv import HAS_UV, UV

sys.path.insert(0, str(Path(__file__).parent))  # nox's console script does not put it there
from tools.selection import pytest_arguments

nox.needs_version = ">=2025.2.9"  # nox.project; older nox says so instead of crashing
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests"]
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
PLUGIN = "packages/pytest-flask-pgdb"  # pytest-flask-pgdb, a uv workspace member
EXAMPLE = "examples/ledger"
LOCK_INPUTS = ("pyproject.toml", "uv.lock", f"{PLUGIN}/pyproject.toml")
STAMP = ".claude-headspace-installed"


def install(session: nox.Session, *groups: str) -> None:
    """The project (editable) plus dependency groups, at the versions in uv.lock.

    Nothing is installed when pyproject.toml, uv.lock and the groups are what the
    session's virtualenv was last built from: sessions then run with no network. With
    uv (nox's default backend here) the lock is used as it is (``uv sync --frozen``);
    without uv, pip installs the same groups from pyproject.toml, unlocked.

    Byte-compiled at install time: with PYTHONDONTWRITEBYTECODE set, every pytest
    process (and xdist worker) would compile SQLAlchemy and friends again, ~1.5 s each.
    """
    venv = Path(session.virtualenv.location)
    wanted = hashlib.sha256(
        b"".join(Path(name).read_bytes() for name in LOCK_INPUTS) + repr(groups).encode()
    ).hexdigest()
    stamp = venv / STAMP
    if stamp.is_file() and stamp.read_text() == wanted:
        session.log("dependencies unchanged since this virtualenv was built: not installing")
        return
    env = {"UV_COMPILE_BYTECODE": "1"}
    if HAS_UV and session.venv_backend == "uv":
        installed = session.run_install(
            UV,
            "sync",
            "--frozen",
            "--no-default-groups",
            *(f"--group={group}" for group in groups),
            env={**env, "UV_PROJECT_ENVIRONMENT": str(venv)},
        )
    else:
        session.warn("uv is not installed: installing from pyproject.toml, not from uv.lock")
        requirements = [r for g in groups for r in nox.project.dependency_groups(PYPROJECT, g)]
        installed = session.run_install(
            "python", "-m", "pip", "install", "-e", f"./{PLUGIN}", "-e", ".", *requirements, env=env
        )
    if installed is None:  # nox -R (--no-install): nothing was installed, so no stamp
        return
    stamp.write_text(wanted)


def run_pytest(session: nox.Session, *paths: str, defaults: tuple[str, ...] = ("-q",)) -> None:
    """pytest on the paths; after ``--``, paths or node ids replace the session's paths
    and options are added to its defaults (``tools/selection.py``)."""
    install(session, "test")
    session.run("pytest", *pytest_arguments(session.posargs, paths, defaults, Path.cwd()))


@nox.session
def tests(session: nox.Session) -> None:
    """What every change needs: the unit, integration and schema suites in one pytest run
    (one start-up, one database setup; ``-n auto`` as the plugin sizes it)."""
    run_pytest(
        session,
        "tests/unit",
        f"{PLUGIN}/tests",
        "tests/integration",
        "tests/schema",
        defaults=("-q", "-n", "auto"),
    )


@nox.session
def unit(session: nox.Session) -> None:
    """Fast tests of pure logic and mocked layers (the app's and the plugin's); no database."""
    run_pytest(session, "tests/unit", f"{PLUGIN}/tests")


@nox.session
def integration(session: nox.Session) -> None:
    """The app on real PostgreSQL: a database per xdist worker (where workers pay: the
    plugin sizes ``-n auto`` by the tests selected), emptied after every test."""
    run_pytest(session, "tests/integration", defaults=("-q", "-n", "auto"))


@nox.session
def machinery(session: nox.Session) -> None:
    """The test machinery's own tests (guard, lifecycle, reset) on a real server; heavy
    tests, a worker per CPU. In CI and on demand, not in the default ``nox``."""
    run_pytest(session, "tests/machinery", defaults=("-q", "-n", "logical"))


@nox.session
def durations(session: nox.Session) -> None:
    """Refresh tests/durations.json, pytest-split's record of each test's duration, from
    which ``-- --splits N --group G`` balances the integration and machinery suites across
    CI machines (serially, so that each time is the test's own)."""
    run_pytest(
        session,
        "tests/integration",
        "tests/machinery",
        defaults=("-q", "-n", "0", "-p", "no:randomly", "--store-durations"),
    )


@nox.session
def schema_parity(session: nox.Session) -> None:
    """Migrations and models build the same schema; every migration reverses."""
    run_pytest(session, "tests/schema")


@nox.session(reuse_venv=False)
def plugin(session: nox.Session) -> None:
    """pytest-flask-pgdb alone: installed from its directory into a fresh virtualenv that
    holds only its own dependencies; its tests; ``pytest --help`` imports no app."""
    session.install(f"./{PLUGIN}")
    session.run("python", f"{PLUGIN}/tests/check_installed.py")
    session.chdir(PLUGIN)
    session.run("pytest", "-q", *session.posargs)


@nox.session
def example(session: nox.Session) -> None:
    """The adoption example (examples/ledger): an app not shaped like ours, on the plugin
    as installed from its directory, under ``-n 2``."""
    session.install(f"./{PLUGIN}[parity]", f"./{EXAMPLE}", "pytest-xdist>=3.6,<4")
    session.chdir(EXAMPLE)
    session.run("pytest", *(session.posargs or ["-n", "2", "-q"]))


@nox.session
def reliability(session: nox.Session) -> None:
    """Whole pytest runs in subprocesses: crashes, concurrency, outages, leaks, bad input."""
    run_pytest(session, "tests/reliability", defaults=("-q", "-p", "no:randomly"))


@nox.session
def mutation(session: nox.Session) -> None:
    """Mutation testing (Cosmic Ray): a table per module and a score; ``-- guard`` picks."""
    install(session, "test", "mutation")
    session.run("python", "-m", "pytest", "-q", "-p", "no:randomly", "mutation")
    session.run("python", "-m", "mutation.run", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Cleanup strategies, worker setup and xdist scaling; prints tables."""
    install(session, "test")
    session.run("python", "-m", "benchmarks.bench", *session.posargs)


@nox.session
def leftovers(session: nox.Session) -> None:
    """List what test runs left (databases, private clusters); ``-- --remove`` removes it."""
    install(session, "test")
    remove = ["--pgdb-remove-leftovers"] if "--remove" in session.posargs else []
    session.run("pytest", "--pgdb-leftovers", *remove, "-p", "no:randomly")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, and mypy on src/ (the test group: pytest's types)."""
    install(session, "lint", "test")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session
def serve(session: nox.Session) -> None:
    """Set up and serve: create + migrate the configured database, then serve the app.

    With the server down (or refusing us), one line says why and the app starts
    degraded; it connects by itself once the server is up.
    """
    install(session)
    env = {"FLASK_APP": "claude_headspace"}
    session.run("flask", "prepare-db", env=env)
    session.run("python", "-m", "claude_headspace", *session.posargs, env=env)


@nox.session
def flask(session: nox.Session) -> None:
    """Any flask command of the app, e.g. ``nox -s flask -- db upgrade``."""
    install(session)
    session.run("flask", "--app", "claude_headspace", *(session.posargs or ["--help"]))
