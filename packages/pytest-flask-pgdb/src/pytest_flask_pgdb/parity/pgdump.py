"""The backstop of schema parity: ``pg_dump --schema-only`` of two databases, compared.

The snapshot (``snapshot.py``) reads the catalogs it knows about; ``pg_dump`` knows
them all. When a ``pg_dump`` of the server's major version is on this machine, both
databases are dumped and the dumps compared as sets of statements, normalised so that
only the schema speaks: comments, ``SET`` lines and ``\\restrict`` keys are dropped,
and the columns inside each ``CREATE TABLE`` are sorted (column order is the
snapshot's own kind of difference). A difference here that the snapshot did not report
is a gap in the snapshot.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import URL

from pytest_flask_pgdb.databases.cluster import binary_directories
from pytest_flask_pgdb.parity.snapshot import IGNORED_TABLES, indented
from pytest_flask_pgdb.reset.isolation import DDL_COUNTER_SCHEMA

DUMP_TIMEOUT_SECONDS = 60
_VERSION = re.compile(r"\(PostgreSQL\) (\d+)")
_NOISE = ("--", "SET ", "SELECT pg_catalog.set_config(", "\\restrict", "\\unrestrict")


class DumpError(RuntimeError):
    """pg_dump could not dump a test database."""


def find_pg_dump(server_major: int, bindir: Path | None = None) -> Path | None:
    """A ``pg_dump`` whose major version is the server's, or None.

    Looks in ``bindir`` (the binaries the run uses), then where the private cluster
    looks for its binaries, then at ``pg_dump`` on ``PATH`` itself (Debian's is a
    wrapper, not in a bin directory). A ``pg_dump`` of another major version prints
    another dialect, so it is not used.
    """
    directories, _tried = binary_directories("pg_dump")
    candidates = [d / "pg_dump" for d in ([bindir] if bindir else []) + directories]
    on_path = shutil.which("pg_dump")
    if on_path:
        candidates.append(Path(on_path))
    return next((c for c in candidates if _major_version(c) == server_major), None)


def _major_version(pg_dump: Path) -> int | None:
    if not pg_dump.is_file():
        return None
    try:
        out = subprocess.run(
            [pg_dump, "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(out)
    return int(match.group(1)) if match else None


def dump_schema(pg_dump: Path, url: URL) -> list[str]:
    """The normalised ``pg_dump --schema-only`` statements of the database at ``url``."""
    return start_dump(pg_dump, url)()


def start_dump(pg_dump: Path, url: URL) -> Callable[[], list[str]]:
    """Start ``pg_dump --schema-only`` on ``url``; the call returned waits for its
    normalised statements. (The caller reads the catalog meanwhile: ~80 ms apart.)"""
    command = [
        str(pg_dump),
        "--schema-only",
        "--no-password",
        f"--exclude-schema={DDL_COUNTER_SCHEMA}",
        *(f"--exclude-table=public.{table}" for table in IGNORED_TABLES),
        f"--dbname={_conninfo(url)}",
    ]
    # Only what pg_dump needs: no PG* variable of the caller may point it elsewhere.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["PGCONNECT_TIMEOUT"] = "10"
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )

    def finish() -> list[str]:
        try:
            stdout, stderr = process.communicate(timeout=DUMP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as exc:
            process.kill()
            process.communicate()
            raise DumpError(f"{pg_dump} did not finish in {DUMP_TIMEOUT_SECONDS} s") from exc
        if process.returncode != 0:
            raise DumpError(f"{pg_dump} failed on {url.database}: {stderr.strip()}")
        return normalise(stdout)

    return finish


def _conninfo(url: URL) -> str:
    # A private cluster is addressed by its socket directory in the URL's query.
    parts = {
        "host": url.query.get("host") or url.host,
        "port": url.query.get("port") or url.port,
        "user": url.username,
        "dbname": url.database,
    }
    return " ".join(f"{key}={_quote(str(value))}" for key, value in parts.items() if value)


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def normalise(dump: str) -> list[str]:
    """The dump's statements, each as one string, sorted; noise and column order gone."""
    statements, current = [], []
    for line in dump.splitlines():
        if not line.strip() or line.startswith(_NOISE):
            continue
        current.append(line.rstrip())
        if line.rstrip().endswith(";"):
            statements.append(_sort_columns(current))
            current = []
    if current:
        statements.append(_sort_columns(current))
    return sorted(statements)


def _sort_columns(lines: list[str]) -> str:
    """A ``CREATE TABLE``'s column lines in name order, without their trailing commas."""
    if not re.match(r"CREATE (UNLOGGED |FOREIGN )?TABLE ", lines[0]) or not lines[0].endswith("("):
        return "\n".join(lines)
    end = next((i for i, line in enumerate(lines) if line.startswith(")")), len(lines))
    body = sorted(line.rstrip(",") for line in lines[1:end])
    return "\n".join([lines[0], *body, *lines[end:]])


def diff_dumps(
    left: list[str], right: list[str], labels: tuple[str, str] = ("migrations", "models")
) -> list[str]:
    """Statements one dump has and the other lacks, one entry each, in full."""
    a, b = labels
    only_left, only_right = Counter(left) - Counter(right), Counter(right) - Counter(left)
    return [f"only in {a}:\n{indented(s)}" for s in sorted(only_left.elements())] + [
        f"only in {b}:\n{indented(s)}" for s in sorted(only_right.elements())
    ]
