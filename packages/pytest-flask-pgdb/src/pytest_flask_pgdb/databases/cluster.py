"""A private, throwaway PostgreSQL cluster for test runs that have no server.

One cluster per test run, shared by the run's pytest-xdist workers (they share the run
id). Each process that uses it registers its pid; the last one to leave stops it and
deletes its files. A run killed with SIGKILL leaves its cluster behind: the next run
finds no live pid registered and removes it.

Closed to everybody but the user running the tests (and root):

* no TCP listener: a Unix socket in a directory only the server's OS user can enter;
* ``peer`` authentication mapped to the invoking OS user, so even another process of
  the server's OS user cannot log in;
* the server starts with a minimal environment: none of the caller's variables
  (``DATABASE_PASSWORD``, ``TEST_DATABASE_URL``, ...) are readable in its ``environ``;
* the base directory must belong to the invoking user and be closed to others, or the
  run refuses it; a ``postmaster.pid`` is acted on only if its pid is really that
  cluster's postmaster.

PostgreSQL refuses to run as root, so under root the server runs as ``nobody``: not as
``postgres``, which owns the system's own clusters.
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
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from pytest_flask_pgdb.errors import ServerUnavailableError
from pytest_flask_pgdb.urls import DRIVER

START_TIMEOUT_SECONDS = 30
SERVER_USER_UNDER_ROOT = "nobody"
SUPERUSER = "postgres"

# Durability is worthless for data that is deleted after every test.
SETTINGS = {
    "listen_addresses": "''",
    "unix_socket_permissions": "0700",
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
    """Where this user's private clusters live: shared memory when the machine has it.

    On tmpfs, copying the template data directory takes ~50 ms instead of ~800 ms on
    this project's CI disk, and the cluster's own I/O never waits for a device.
    """
    shm = Path("/dev/shm")
    base = (
        shm if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else Path(tempfile.gettempdir())
    )
    return base / f"pytest_flask_pgdb_{os.getuid()}"


def find_binaries(explicit: Path | None = None) -> tuple[Path | None, list[str]]:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, and where we looked."""
    if explicit is not None:  # the user chose a PostgreSQL installation: look nowhere else
        found = _has_server_binaries(explicit)
        return (explicit if found else None), [f"TEST_DATABASE_PG_BINDIR={explicit}"]
    candidates, tried = binary_directories("initdb")
    for directory in candidates:
        if _has_server_binaries(directory):
            return directory, tried
    return None, tried


def binary_directories(tool: str) -> tuple[list[Path], list[str]]:
    """Where PostgreSQL binaries may be, in the order to try, and how they were found.

    ``pg_config --bindir``, the directory of ``tool`` on ``PATH``, then the usual
    installation directories, newest version first.
    """
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
    on_path = shutil.which(tool)
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    tried.append("PATH")
    for pattern in BINARY_DIRECTORIES:
        candidates.extend(Path(p) for p in sorted(glob.glob(pattern), key=_version_key))
        tried.append(pattern)
    return candidates, tried


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
        """Through the Unix socket (the only way in), as the cluster's superuser."""
        return URL.create(
            DRIVER,
            username=SUPERUSER,
            database=database,
            query={"host": str(self.socket_dir), "port": str(self.port)},
        )

    def postmaster_pid(self) -> int | None:
        """The pid in ``postmaster.pid``, if that process really is this cluster's server."""
        pid = _pid_file(self.data)
        return pid if pid is not None and _is_postmaster_of(pid, self.data) else None

    def is_running(self) -> bool:
        return self.postmaster_pid() is not None


def acquire(bindir: Path, run: str, root: Path | None = None) -> PrivateCluster:
    """Start (or join) the private cluster of ``run`` and register this process as a user."""
    root = root or clusters_root()
    server_user = _server_user()
    _prepare_root(root, server_user)
    with _locked(root):
        _remove_abandoned(root, keep=run)
        cluster = PrivateCluster(root / run)
        if not cluster.is_running():
            _create(cluster, bindir, server_user)
        cluster.users.mkdir(mode=0o700, exist_ok=True)
        _register(cluster.users / str(os.getpid()))
    return cluster


def release(cluster: PrivateCluster) -> None:
    """Unregister this process; the last user stops the cluster and deletes it."""
    with _locked(cluster.directory.parent):
        _unregister(cluster.users / str(os.getpid()))
        if not _live_users(cluster):
            _destroy(cluster)


# A user's registration is a file named by its pid, which it holds locked (flock) while
# it lives: the kernel drops the lock when the process ends, however it ends. A pid
# alone proves nothing across PID namespaces (containers, CI shards sharing /dev/shm:
# a live run's pids do not exist here, or name other processes); the lock does.
_REGISTRATIONS: dict[Path, int] = {}


def _register(path: Path) -> None:
    descriptor = os.open(path, os.O_CREAT | os.O_RDONLY | os.O_CLOEXEC, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_SH)
    _REGISTRATIONS[path] = descriptor


def _unregister(path: Path) -> None:
    path.unlink(missing_ok=True)
    descriptor = _REGISTRATIONS.pop(path, None)
    if descriptor is not None:
        os.close(descriptor)


def _held(path: Path) -> bool:
    """Does a live process hold this registration's lock?"""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # (also releases the lock just taken)
    return False


def _prepare_root(root: Path, server_user: pwd.struct_passwd | None) -> None:
    """Create the base directory, or refuse one that others could have written to.

    Under root the server's user must pass through it: group-searchable for that user's
    group only (0710); otherwise 0700.
    """
    mode = 0o710 if server_user is not None else 0o700
    group = server_user.pw_gid if server_user is not None else os.getgid()
    try:
        root.mkdir(mode=0o700)
    except FileExistsError:
        info = os.lstat(root)
        problem = None
        if not stat.S_ISDIR(info.st_mode):
            problem = "is not a directory"
        elif info.st_uid != os.geteuid():
            problem = f"belongs to uid {info.st_uid}, not to you (uid {os.geteuid()})"
        elif info.st_mode & 0o022:
            problem = f"is writable by others (mode {stat.S_IMODE(info.st_mode):04o})"
        if problem:
            raise ServerUnavailableError(
                f"refusing the private-cluster directory {root}: it {problem}, so somebody "
                "else may have put files in it. Remove it (rm -rf it, as its owner or root) "
                "and run again."
            ) from None
    os.chown(root, os.geteuid(), group)
    os.chmod(root, mode)


def _create(cluster: PrivateCluster, bindir: Path, owner: pwd.struct_passwd | None) -> None:
    shutil.rmtree(cluster.directory, ignore_errors=True)
    cluster.directory.mkdir(mode=0o700)
    cluster.socket_dir.mkdir(mode=0o700)
    # initdb is most of a cold start (~0.6 s): run it once per PostgreSQL version and
    # copy the fresh data directory for every later cluster.
    template = _template_data(cluster.directory.parent, bindir, owner)
    shutil.copytree(template, cluster.data, symlinks=True)
    port = _free_port()
    (cluster.directory / "port").write_text(str(port))
    with (cluster.data / "postgresql.conf").open("a") as conf:
        conf.write(f"\nunix_socket_directories = '{cluster.socket_dir}'\nport = {port}\n")
        conf.writelines(f"{key} = {value}\n" for key, value in SETTINGS.items())
    # Only the invoking OS user (and root) may log in, as the superuser, over the socket.
    (cluster.data / "pg_hba.conf").write_text("local all all peer map=owner\n")
    invoker = pwd.getpwuid(os.geteuid()).pw_name
    (cluster.data / "pg_ident.conf").write_text(
        "".join(f"owner {name} {SUPERUSER}\n" for name in dict.fromkeys((invoker, "root")))
    )
    if owner is not None:
        for path in (cluster.directory, cluster.socket_dir):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        _chown_tree(cluster.data, owner)
    start(cluster, bindir)


def start(cluster: PrivateCluster, bindir: Path) -> None:
    """Start the cluster's server (again): its data directory must exist."""
    _pg_ctl(cluster, bindir, "start")


def restart(cluster: PrivateCluster, bindir: Path) -> None:
    """Restart the server as an administrator does (``pg_ctl restart -m fast``): sessions
    are ended, the server is back when this returns."""
    _pg_ctl(cluster, bindir, "-m", "fast", "restart")


def _pg_ctl(cluster: PrivateCluster, bindir: Path, *action: str) -> None:
    """``pg_ctl`` as the server's user, waiting (bounded) until the server is up."""
    _run_as(
        _server_user(),
        [
            bindir / "pg_ctl",
            "-D",
            cluster.data,
            "-l",
            cluster.directory / "postgres.log",
            "-w",
            "-t",
            str(START_TIMEOUT_SECONDS),
            *action,
        ],
        cluster.directory,
    )


def stop(cluster: PrivateCluster) -> None:
    """Stop the server at once (like a crash); files and registrations stay."""
    pid = cluster.postmaster_pid()
    if pid is None:
        return
    # Immediate shutdown: nothing in a throwaway cluster is worth a checkpoint.
    os.kill(pid, signal.SIGQUIT)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _is_postmaster_of(pid, cluster.data):
        os.kill(pid, signal.SIGKILL)


TEMPLATE_PREFIX = "template-"


def _template_data(root: Path, bindir: Path, owner: pwd.struct_passwd | None) -> Path:
    """A never-started, freshly initdb'd data directory for ``bindir``'s version."""
    version = hashlib.sha1(str(bindir.resolve()).encode()).hexdigest()[:12]
    template = root / f"{TEMPLATE_PREFIX}{version}"
    data = template / "data"
    # A template somebody else owns (an older layout ran servers as postgres) could
    # carry their postgresql.conf: build a fresh one.
    owner_uid = owner.pw_uid if owner is not None else os.geteuid()
    if (template / "complete").exists() and os.lstat(template).st_uid == owner_uid:
        return data
    shutil.rmtree(template, ignore_errors=True)
    template.mkdir(mode=0o700)
    if owner is not None:
        os.chown(template, owner.pw_uid, owner.pw_gid)
    _run_as(
        owner,
        [
            bindir / "initdb",
            "-D",
            data,
            "-U",
            SUPERUSER,
            "--auth=trust",  # replaced by peer authentication in every copy
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


def server_environment(workdir: Path) -> dict[str, str]:
    """All the server inherits: nothing of the caller's (no secrets, no settings)."""
    return {"PATH": os.defpath, "LC_ALL": "C", "LANG": "C", "HOME": str(workdir)}


def _run_as(owner: pwd.struct_passwd | None, argv: list[Any], workdir: Path) -> None:
    try:
        subprocess.run(
            [str(a) for a in argv],
            cwd=workdir,
            env=server_environment(workdir),
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_SECONDS + 30,
            check=True,
            user=owner.pw_uid if owner is not None else None,
            group=owner.pw_gid if owner is not None else None,
            extra_groups=[] if owner is not None else None,
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
    """A port number nobody uses: it names the socket file (nothing listens on TCP)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_user() -> pwd.struct_passwd | None:
    """Who runs the server: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER_UNDER_ROOT)
    except KeyError:
        raise ServerUnavailableError(
            f"running as root, and no '{SERVER_USER_UNDER_ROOT}' user exists to run a private "
            "PostgreSQL cluster as (PostgreSQL refuses root); run the tests as an ordinary user."
        ) from None


def _destroy(cluster: PrivateCluster) -> None:
    stop(cluster)
    shutil.rmtree(cluster.directory, ignore_errors=True)


def _remove_abandoned(root: Path, keep: str) -> None:
    for directory in root.iterdir():
        if directory.name.startswith(TEMPLATE_PREFIX) or directory.name == keep:
            continue
        if directory.is_dir() and not directory.is_symlink():
            cluster = PrivateCluster(directory)
            if not _live_users(cluster):
                _destroy(cluster)


def _live_users(cluster: PrivateCluster) -> list[int]:
    if not cluster.users.is_dir():
        return []
    live = []
    for entry in cluster.users.iterdir():
        if entry.name.isdigit() and _held(entry):
            live.append(int(entry.name))
        else:
            entry.unlink(missing_ok=True)
    return live


def _pid_file(data: Path) -> int | None:
    try:
        first_line = (data / "postmaster.pid").read_text().splitlines()[0]
        return int(first_line)
    except (OSError, IndexError, ValueError):
        return None


def _is_postmaster_of(pid: int, data: Path) -> bool:
    """Is ``pid`` a PostgreSQL server started on ``data``, run by the data's owner?

    A pid file proves nothing by itself: the process may have ended and the pid been
    reused, or the file may not be ours.
    """
    try:
        owner = os.stat(data).st_uid
        argv, uid = _process(pid)
    except (OSError, ValueError):
        return False
    return uid == owner and "-D" in argv and argv[argv.index("-D") + 1 :][:1] == [str(data)]


def _process(pid: int) -> tuple[list[str], int]:
    """``(argv, uid)`` of a live process (``/proc``; ``ps`` where there is none)."""
    proc = Path(f"/proc/{pid}")
    if Path("/proc/self").exists():
        argv = (proc / "cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        return [a.decode(errors="replace") for a in argv], proc.stat().st_uid
    out = subprocess.run(
        ["ps", "-o", "uid=,args=", "-p", str(pid)], capture_output=True, text=True, timeout=10
    ).stdout.split()
    return out[1:], int(out[0])


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


def leftovers(root: Path | None = None) -> list[tuple[Path, str]]:
    """This user's private-cluster files: ``(path, what)``; ``what`` says if in use."""
    root = root or clusters_root()
    if not root.is_dir():
        return []
    found = []
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        size = sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())
        if directory.name.startswith(TEMPLATE_PREFIX):
            what = f"initdb template cache, {size / 2**20:.0f} MB"
        elif _live_users(PrivateCluster(directory)):
            what = f"cluster of a live run, {size / 2**20:.0f} MB"
        else:
            what = f"cluster of a dead run, {size / 2**20:.0f} MB"
        found.append((directory, what))
    return found


def remove_leftovers(root: Path | None = None) -> list[Path]:
    """Remove clusters of dead runs and the template caches (rebuilt when needed)."""
    root = root or clusters_root()
    if not root.is_dir():
        return []
    removed = []
    with _locked(root):  # a run starting meanwhile copies a template under this lock
        for directory in sorted(p for p in root.iterdir() if p.is_dir()):
            if directory.name.startswith(TEMPLATE_PREFIX):
                shutil.rmtree(directory, ignore_errors=True)
                removed.append(directory)
            elif not _live_users(cluster := PrivateCluster(directory)):
                _destroy(cluster)
                removed.append(directory)
    return removed


def iter_running(root: Path | None = None) -> Iterator[PrivateCluster]:
    """Private clusters of this user that are running (for diagnostics and tests)."""
    root = root or clusters_root()
    if root.is_dir():
        for directory in root.iterdir():
            cluster = PrivateCluster(directory)
            if directory.is_dir() and cluster.is_running():
                yield cluster
