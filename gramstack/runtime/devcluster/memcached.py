"""Real memcached processes on free loopback ports, for the dev cluster,
the tests and the benchmark (Debian's ``memcached`` package, >= 1.6.10 for
the meta commands)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

HOST = "127.0.0.1"


class MemcachedMissing(RuntimeError):
    """No memcached binary on PATH (``make test-deps`` installs it)."""


@dataclass
class MemcachedProcess:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def address(self) -> str:
        """As the ``memcached_servers`` setting is written."""
        return f"{HOST}:{self.port}"

    @property
    def endpoint(self) -> tuple[str, int]:
        """As ``MemcachedPool`` takes it."""
        return HOST, self.port

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None


def memcached_binary() -> str | None:
    return shutil.which("memcached")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2) as sock:
            sock.sendall(b"mn\r\n")
            return sock.recv(16).startswith(b"MN")
    except OSError:
        return False


def start_memcached(
    port: int | None = None,
    memory_mb: int = 64,
    extra: Sequence[str] = (),
    *,
    detach: bool = False,
) -> MemcachedProcess:
    """Start one memcached on loopback and wait until it answers ``mn``.

    ``detach``: in a session of its own, so it outlives the command that
    started it and the terminal it ran in (the dev cluster's caches).
    """
    binary = memcached_binary()
    if binary is None:
        raise MemcachedMissing("memcached is not installed (apt-get install memcached)")
    for _ in range(5):
        chosen = port or _free_port()
        args = [binary, "-l", HOST, "-p", str(chosen), "-U", "0", "-m", str(memory_mb), "-t", "2"]
        if os.geteuid() == 0:
            args += ["-u", "root"]
        process = subprocess.Popen(
            [*args, *extra],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=detach,
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and process.poll() is None:
            if _answers(chosen):
                return MemcachedProcess(chosen, process)
            time.sleep(0.02)
        stop_memcached(MemcachedProcess(chosen, process))
        if port is not None:
            break  # the caller's port is taken: trying again will not help
    raise RuntimeError(f"memcached did not start on {HOST}:{port or 'a free port'}")


def stop_memcached(server: MemcachedProcess, *, hard: bool = False) -> None:
    """Stop it (``hard``: SIGKILL at once, as a crash would) and reap it.

    An idle memcached notices SIGTERM only at its next once-a-second clock
    tick; a cache holds nothing worth waiting for, so it is killed soon after.
    """
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
        try:
            server.process.wait(0.2)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def running_memcached(pid: int, port: int) -> bool:
    """Whether ``pid`` is (still) the memcached serving ``port``: a pid saved
    in a file may since have been reused by another process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            if stat.read().rpartition(")")[2].split()[0] == "Z":
                return False  # exited, not yet reaped by its parent
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            argv = cmdline.read().split(b"\0")
    except OSError:
        return False
    return os.path.basename(argv[0]) == b"memcached" and str(port).encode() in argv


def stop_memcached_pid(pid: int, port: int, timeout_s: float = 5.0) -> None:
    """Stop a memcached that some earlier process started (the dev cluster's)."""
    for sig, wait_s in ((signal.SIGTERM, 0.3), (signal.SIGKILL, timeout_s)):
        if not running_memcached(pid, port):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and running_memcached(pid, port):
            time.sleep(0.02)
    if running_memcached(pid, port):
        raise RuntimeError(f"memcached {pid} on port {port} did not stop")


def start_pool(count: int, memory_mb: int = 64) -> list[MemcachedProcess]:
    started: list[MemcachedProcess] = []
    try:
        for _ in range(count):
            started.append(start_memcached(memory_mb=memory_mb))
    except BaseException:
        for server in started:
            stop_memcached(server)
        raise
    return started


def addresses(servers: Sequence[MemcachedProcess]) -> str:
    """The ``memcached_servers`` setting for these processes."""
    return ",".join(s.address for s in servers)
