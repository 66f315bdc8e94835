"""Issue 10, the private cluster: closed to other local users, none of the caller's secrets.

Acting as other OS users needs root (as CI runs); the private cluster then runs as
``nobody``. Before this, the cluster listened on 127.0.0.1 with trust authentication
and its server inherited the caller's whole environment.
"""

import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from pytest_flask_pgdb.databases import cluster
from pytest_flask_pgdb.errors import ServerUnavailableError
from pytest_flask_pgdb.settings import SERVER_SETTING
from tests.reliability.harness import wait_for

pytestmark = [
    pytest.mark.usefixtures("developer_data_is_untouched"),
    pytest.mark.skipif(os.geteuid() != 0, reason="acting as other OS users needs root"),
]

OTHER_USER = "daemon"  # any local user that is not the one running the tests
SECRET = "Caller-Secret-8d1f"


@pytest.fixture(scope="module")
def bindir():
    found, looked = cluster.find_binaries()
    assert found is not None, f"needs PostgreSQL binaries; looked in {looked}"
    return found


def as_user(user, *argv):
    account = pwd.getpwnam(user)
    return subprocess.run(
        [str(a) for a in argv],
        user=account.pw_uid,
        group=account.pw_gid,
        extra_groups=[],
        cwd="/",
        env={"PATH": os.defpath, "PGCONNECT_TIMEOUT": "5"},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_root_runs_private_cluster_is_closed_to_other_users(reliability, bindir):
    before = {c.directory for c in cluster.iter_running()}
    marker, resume = reliability.marker(), reliability.workdir / f"resume-{uuid.uuid4().hex}"
    run = reliability.start_sample(
        "-n", "2", SAMPLE_PAUSE="test", SAMPLE_MARKER=str(marker), SAMPLE_RESUME=str(resume),
        DATABASE_PASSWORD=SECRET, CALLER_TOKEN=SECRET, **{SERVER_SETTING: "private"},
    )  # fmt: skip
    try:
        wait_for(marker)
        (private,) = {c for c in cluster.iter_running() if c.directory not in before}
        pid = private.postmaster_pid()
        assert pid is not None

        environ = Path(f"/proc/{pid}/environ").read_bytes()
        for secret in (SECRET.encode(), b"DATABASE_", b"TEST_DATABASE", b"PYTEST"):
            assert secret not in environ

        psql = [bindir / "psql", "-U", "postgres", "-d", "postgres", "-Atc", "SELECT 1"]
        via_socket = [*psql, "-h", private.socket_dir, "-p", private.port]
        other = as_user(OTHER_USER, *via_socket)
        assert other.returncode != 0, other
        assert "Permission denied" in other.stderr, other
        over_tcp = as_user(OTHER_USER, *psql, "-h", "127.0.0.1", "-p", private.port)
        assert over_tcp.returncode != 0, over_tcp
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", private.port), timeout=5).close()
        # Even the server's own OS user cannot log in: peer auth maps only the invoker.
        server_user = as_user(cluster.SERVER_USER_UNDER_ROOT, *via_socket)
        assert server_user.returncode != 0
        assert "authentication failed" in server_user.stderr
        assert as_user(OTHER_USER, "cat", f"/proc/{pid}/environ").returncode != 0

        for path, mode in (
            (private.directory.parent, 0o710),
            (private.directory, 0o700),
            (private.socket_dir, 0o700),
        ):
            assert stat.S_IMODE(path.stat().st_mode) == mode, path
    finally:
        resume.touch()
        output, _ = run.communicate(timeout=120)
    assert run.returncode == 0, output[-3000:]
    assert SECRET not in output


@pytest.fixture
def base_directory():
    """A clusters' base directory of its own, where the server's user can reach it."""
    shm = Path("/dev/shm")
    parent = shm if shm.is_dir() else Path(tempfile.gettempdir())
    root = parent / f"claude_headspace_reltest_{uuid.uuid4().hex}"
    yield root
    for directory in root.glob("*/"):
        cluster.stop(cluster.PrivateCluster(directory))
    shutil.rmtree(root, ignore_errors=True)


def test_a_base_directory_of_another_user_is_refused(base_directory, bindir):
    other = pwd.getpwnam(OTHER_USER)
    base_directory.mkdir(mode=0o700)
    os.chown(base_directory, other.pw_uid, other.pw_gid)
    with pytest.raises(ServerUnavailableError, match=f"belongs to uid {other.pw_uid}, not to you"):
        cluster.acquire(bindir, "refused", root=base_directory)
    assert list(base_directory.iterdir()) == []


def test_a_base_directory_others_can_write_to_is_refused(base_directory, bindir):
    base_directory.mkdir()
    base_directory.chmod(0o777)
    with pytest.raises(ServerUnavailableError, match=r"writable by others \(mode 0777\)"):
        cluster.acquire(bindir, "refused", root=base_directory)


def test_a_planted_postmaster_pid_gets_no_process_killed(base_directory, bindir):
    base_directory.mkdir(mode=0o700)
    victims = [
        subprocess.Popen(["sleep", "120"], user=OTHER_USER, cwd="/"),
        subprocess.Popen(["sleep", "120"]),  # ours, but not a postmaster
    ]
    try:
        for number, victim in enumerate(victims):
            data = base_directory / f"planted-{number}" / "data"
            data.mkdir(parents=True)
            (data / "postmaster.pid").write_text(f"{victim.pid}\n{data}\n")
        server = cluster.acquire(bindir, "after-planting", root=base_directory)
        try:
            assert [victim.poll() for victim in victims] == [None, None]  # both alive
            assert not any(base_directory.glob("planted-*"))  # abandoned dirs removed
            assert server.is_running()
        finally:
            cluster.release(server)
        assert not server.directory.exists()
    finally:
        for victim in victims:
            victim.kill()
            victim.wait()
