"""A throwaway PostgreSQL leader and streaming followers on loopback ports.

Built from the stock server binaries (initdb, pg_basebackup -R, pg_ctl).
PostgreSQL refuses to run as root, so under root every server command runs
as the ``postgres`` system user, which owns the data directories. The
cluster trusts loopback connections and runs with ``fsync = off``: it is
for development and tests, never for data anyone wants to keep.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path

SERVICE_USER = "postgres"
SUPERUSER = "postgres"
_DEFAULT_BINDIR = Path("/usr/lib/postgresql/15/bin")


class DevClusterError(RuntimeError):
    """The dev cluster could not be started or stopped."""


def find_bindir() -> Path:
    """The PostgreSQL server binaries: version 15's Debian path, else ``pg_config``."""
    if (_DEFAULT_BINDIR / "initdb").exists():
        return _DEFAULT_BINDIR
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if versions:
        return versions[0].parent
    raise DevClusterError("PostgreSQL server binaries not found; apt-get install postgresql-15")


def service_user() -> str | None:
    """Who runs the servers: ``postgres`` when we are root (created if
    missing), else nobody different (None: the current user)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            check=True,
        )
    return SERVICE_USER


def run(
    args: Sequence[str | Path], user: str | None, *, cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args],
        user=user,
        group=None if user is None else pwd.getpwnam(user).pw_gid,
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},
        check=False,
    )
    if check and result.returncode != 0:
        raise DevClusterError(
            f"{Path(str(args[0])).name} failed ({result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-2000:]}"
        )
    return result


def give_to(path: Path, user: str | None) -> None:
    """Make ``path`` (a directory we created) belong to the service user."""
    if user is None:
        return
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    if run(["test", "-w", path, "-a", "-x", path], user, check=False).returncode != 0:
        raise DevClusterError(
            f"user {user!r} cannot reach {path}: pick a directory it can traverse (under /tmp)"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _append_conf(data: Path, settings: dict[str, str]) -> None:
    lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
    with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write("\n# gramstack dev-cluster\n" + lines)


def init_leader(bindir: Path, data: Path, port: int, socket_dir: Path, user: str | None) -> None:
    run(
        [
            bindir / "initdb",
            "-D",
            data,
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        user,
        cwd=data.parent,
    )
    _append_conf(
        data,
        {
            "listen_addresses": "'127.0.0.1'",
            "port": str(port),
            "unix_socket_directories": f"'{socket_dir}'",
            # logical: the invalidation service reads a logical slot.
            "wal_level": "logical",
            "max_wal_senders": "16",
            "max_replication_slots": "16",
            "wal_keep_size": "'256MB'",
            "hot_standby": "on",
            "hot_standby_feedback": "on",
            "max_connections": "300",
            "shared_buffers": "'64MB'",
            "fsync": "off",
            "full_page_writes": "off",
            "log_min_messages": "warning",
        },
    )


def clone_follower(
    bindir: Path, leader_port: int, data: Path, port: int, slot: str, user: str | None
) -> None:
    run(
        [
            bindir / "pg_basebackup",
            "-d",
            f"host=127.0.0.1 port={leader_port} user={SUPERUSER}",
            "-D",
            data,
            "-R",  # standby.signal + primary_conninfo
            "-X",
            "stream",
            "-C",
            "-S",
            slot,
            "--checkpoint=fast",
            "--no-sync",
        ],
        user,
        cwd=data.parent,
    )
    _append_conf(data, {"port": str(port)})


def start(bindir: Path, data: Path, log: Path, user: str | None) -> None:
    run(
        [bindir / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "start"], user, cwd=data.parent
    )


def stop(bindir: Path, data: Path, user: str | None, mode: str = "fast") -> None:
    """Stop the server in ``data`` if it runs; ``mode`` is pg_ctl's (fast, immediate)."""
    if not (data / "postmaster.pid").exists():
        return
    run(
        [bindir / "pg_ctl", "-D", data, "-m", mode, "-w", "-t", "60", "stop"],
        user,
        cwd=data.parent,
        check=False,
    )
