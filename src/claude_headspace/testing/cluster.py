"""A private, throwaway PostgreSQL cluster for test runs that have no server.

One cluster per test run, shared by the run's pytest-xdist workers (they share
``PYTEST_XDIST_TESTRUNUID``). Each process that uses it registers its pid; the last
one to leave stops it and deletes its files. A run killed with SIGKILL leaves its
cluster behind: the next run finds no live pid registered and removes it.

PostgreSQL refuses to run as root, so under root the cluster runs as an unprivileged
user (``postgres`` if it exists, else ``nobody``).
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from ..config import DRIVER
from .errors import ServerUnavailableError
from .settings import BINDIR_SETTING

HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 30

# Durability is worthless for data that is deleted after every test.
SETTINGS = {
    "listen_addresses": f"'{HOST}'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_connections": "100",
    "shared_buffers": "128MB",
    "checkpoint_timeout": "1h",
    "max_wal_size": "4GB",
    "autovacuum": "off",
    "jit": "off",
    "log_min_messages": "warning",
}

BINARY_DIRECTORIES = (
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/usr/local/pgsql/bin",
    "/opt/homebrew/opt/postgresql*/bin",
    "/usr/local/opt/postgresql*/bin",
    "/Applications/Postgres.app/Contents/Versions/*/bin",
)


def clusters_root() -> Path:
    """Where private clusters live: shared memory when the machine has it.

    On tmpfs, copying the template data directory takes ~50 ms instead of ~800 ms on
    this project's CI disk, and the cluster's own I/O never waits for a device.
    """
    shm = Path("/dev/shm")
    base = (
        shm if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else Path(tempfile.gettempdir())
    )
    return base / f"claude_headspace_pg_{os.getuid()}"


def find_binaries() -> tuple[Path | None, list[str]]:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, and where we looked."""
    explicit = os.environ.get(BINDIR_SETTING, "").strip()
    if explicit:  # the user chose a PostgreSQL installation: look nowhere else
        directory = Path(explicit)
        found = _has_server_binaries(directory)
        return (directory if found else None), [f"{BINDIR_SETTING}={explicit}"]
    candidates: list[Path] = []
    tried: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            bindir = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            candidates.append(Path(bindir))
        except (OSError, subprocess.SubprocessError):
            pass
    tried.append("pg_config --bindir")
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    tried.append("PATH")
    for pattern in BINARY_DIRECTORIES:
        candidates.extend(Path(p) for p in sorted(glob.glob(pattern), key=_version_key))
        tried.append(pattern)
    for directory in candidates:
        if _has_server_binaries(directory):
            return directory, tried
    return None, tried


def _has_server_binaries(directory: Path) -> bool:
    return all((directory / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres"))


def _version_key(path: str) -> tuple[int, str]:
    digits = "".join(ch for ch in path if ch.isdigit())
    return (-int(digits) if digits else 0, path)  # newest version first


@dataclass(frozen=True)
class PrivateCluster:
    directory: Path

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def socket_dir(self) -> Path:
        return self.directory / "socket"

    @property
    def users(self) -> Path:
        return self.directory / "users"

    @property
    def port(self) -> int:
        return int((self.directory / "port").read_text())

    def url(self, database: str = "postgres") -> URL:
        return URL.create(DRIVER, username="postgres", host=HOST, port=self.port, database=database)

    def is_running(self) -> bool:
        pid = _postmaster_pid(self.data)
        return pid is not None and _alive(pid)


def run_id() -> str:
    """Shared by all xdist workers of one run; unique per serial run."""
    return os.environ.get("PYTEST_XDIST_TESTRUNUID") or _SERIAL_RUN_ID


_SERIAL_RUN_ID = uuid.uuid4().hex


def acquire(bindir: Path, run: str | None = None) -> PrivateCluster:
    """Start (or join) the run's private cluster and register this process as a user.

    ``run`` defaults to this test run; another value gives a separate cluster.
    """
    run = run or run_id()
    root = clusters_root()
    root.mkdir(mode=0o755, exist_ok=True)
    with _locked(root):
        _remove_abandoned(root, keep=run)
        cluster = PrivateCluster(root / run)
        if not cluster.is_running():
            _start(cluster, bindir)
        cluster.users.mkdir(exist_ok=True)
        (cluster.users / str(os.getpid())).touch()
    return cluster


def release(cluster: PrivateCluster) -> None:
    """Unregister this process; the last user stops the cluster and deletes it."""
    root = cluster.directory.parent
    with _locked(root):
        (cluster.users / str(os.getpid())).unlink(missing_ok=True)
        if not _live_users(cluster):
            _destroy(cluster)


def _start(cluster: PrivateCluster, bindir: Path) -> None:
    shutil.rmtree(cluster.directory, ignore_errors=True)
    cluster.socket_dir.mkdir(parents=True)
    owner = _unprivileged_user()
    if owner is not None:
        for path in (cluster.directory, cluster.socket_dir):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    # initdb is most of a cold start (~0.6 s): run it once per PostgreSQL version and
    # copy the fresh data directory for every later cluster.
    template = _template_data(cluster.directory.parent, bindir, owner)
    shutil.copytree(template, cluster.data, symlinks=True)
    if owner is not None:
        _chown_tree(cluster.data, owner)
    port = _free_port()
    (cluster.directory / "port").write_text(str(port))
    with (cluster.data / "postgresql.conf").open("a") as conf:
        conf.write(f"\nunix_socket_directories = '{cluster.socket_dir}'\nport = {port}\n")
        conf.writelines(f"{key} = {value}\n" for key, value in SETTINGS.items())
    start(cluster, bindir)


def start(cluster: PrivateCluster, bindir: Path) -> None:
    """Start the cluster's server (again): its data directory must exist."""
    _run_as(
        _unprivileged_user(),
        [
            bindir / "pg_ctl",
            "-D",
            cluster.data,
            "-l",
            cluster.directory / "postgres.log",
            "-w",
            "-t",
            str(START_TIMEOUT_SECONDS),
            "start",
        ],
        cluster.directory,
    )


def stop(cluster: PrivateCluster) -> None:
    """Stop the server at once (like a crash); files and registrations stay."""
    pid = _postmaster_pid(cluster.data)
    if pid is not None and _alive(pid):
        # Immediate shutdown: nothing in a throwaway cluster is worth a checkpoint.
        os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


TEMPLATE_PREFIX = "template-"


def _template_data(root: Path, bindir: Path, owner: pwd.struct_passwd | None) -> Path:
    """A never-started, freshly initdb'd data directory for ``bindir``'s version."""
    version = hashlib.sha1(str(bindir.resolve()).encode()).hexdigest()[:12]
    template = root / f"{TEMPLATE_PREFIX}{version}"
    data = template / "data"
    if (template / "complete").exists():
        return data
    shutil.rmtree(template, ignore_errors=True)
    template.mkdir()
    if owner is not None:
        os.chown(template, owner.pw_uid, owner.pw_gid)
    _run_as(
        owner,
        [
            bindir / "initdb",
            "-D",
            data,
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "--wal-segsize=1",
        ],
        template,
    )
    (template / "complete").touch()
    return data


def _chown_tree(path: Path, owner: pwd.struct_passwd) -> None:
    os.chown(path, owner.pw_uid, owner.pw_gid)
    for directory, subdirectories, files in os.walk(path):
        for name in subdirectories + files:
            os.chown(os.path.join(directory, name), owner.pw_uid, owner.pw_gid)


def _run_as(owner: pwd.struct_passwd | None, argv: list, workdir: Path) -> None:
    kwargs = {}
    env = dict(os.environ, LC_ALL="C")
    if owner is not None:
        kwargs = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
        env["HOME"] = str(workdir)
    try:
        subprocess.run(
            [str(a) for a in argv],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_SECONDS + 30,
            check=True,
            **kwargs,
        )
    except subprocess.CalledProcessError as exc:
        log = workdir / "postgres.log"
        detail = (exc.stderr or exc.stdout or "").strip().splitlines()[-3:]
        if log.exists():
            detail += log.read_text(errors="replace").strip().splitlines()[-3:]
        raise ServerUnavailableError(
            f"could not start a private PostgreSQL cluster: {Path(argv[0]).name} failed "
            f"({'; '.join(detail) or exc.returncode})."
        ) from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServerUnavailableError(
            f"could not start a private PostgreSQL cluster: {Path(argv[0]).name}: {exc}."
        ) from None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _unprivileged_user() -> pwd.struct_passwd | None:
    """Who runs the cluster: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise ServerUnavailableError(
        "running as root, and neither a 'postgres' nor a 'nobody' user exists to run a "
        "private PostgreSQL cluster as; run the tests as an ordinary user."
    )


def _destroy(cluster: PrivateCluster) -> None:
    stop(cluster)
    shutil.rmtree(cluster.directory, ignore_errors=True)


def _remove_abandoned(root: Path, keep: str) -> None:
    for directory in root.iterdir():
        if directory.name.startswith(TEMPLATE_PREFIX):
            continue
        if directory.is_dir() and directory.name != keep:
            cluster = PrivateCluster(directory)
            if not _live_users(cluster):
                _destroy(cluster)


def _live_users(cluster: PrivateCluster) -> list[int]:
    if not cluster.users.is_dir():
        return []
    live = []
    for entry in cluster.users.iterdir():
        if entry.name.isdigit() and _alive(int(entry.name)):
            live.append(int(entry.name))
        else:
            entry.unlink(missing_ok=True)
    return live


def _postmaster_pid(data: Path) -> int | None:
    try:
        first_line = (data / "postmaster.pid").read_text().splitlines()[0]
        return int(first_line)
    except (OSError, IndexError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return True


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    with (root / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def iter_running() -> Iterator[PrivateCluster]:
    """Private clusters of this user that are running (for diagnostics and tests)."""
    root = clusters_root()
    if root.is_dir():
        for directory in root.iterdir():
            cluster = PrivateCluster(directory)
            if directory.is_dir() and cluster.is_running():
                yield cluster
