"""Where one worker's CPU goes on a feed-heavy workload, for choosing speedups.

Starts two ``gramstack serve`` processes, speedups on and off
(``GRAMSTACK_NO_EXTENSIONS``), each with one worker, SQLite and a memcached
cache on two servers (so the hash ring is on the path); seeds a small graph
over HTTP; then clients walk feeds page by page (cursors), read media and
users. Prints the worker's CPU per request in alternating windows, and, from
py-spy, each candidate hot path's share of the busy samples (inclusive;
compiled functions do not show as frames of their own). Keeps the raw stacks.

Run: ``.venv/bin/python -m bench.speedups_profile`` (py-spy must be installed;
it needs ptrace rights, which root has).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.api_throughput import BENCH_ENV  # noqa: E402
from gramstack.runtime.devcluster.memcached import start_memcached, stop_memcached  # noqa: E402
from tests.support.server import start_server  # noqa: E402

API = "/api/v1"
# Function names (as py-spy reports them) and a part of their file's path:
# the candidate hot paths. Compiled functions show no frame of their own, so
# a compiled speedup's row reads zero with speedups on, and its twin's frames
# (gramstack/speedups/_*_py.py) with speedups off.
CANDIDATES = {
    "timestamp / format_timestamp": ("(?:timestamp|format_timestamp)", "gramstack/"),
    "encode_cursor": ("encode_cursor", "gramstack/"),
    "decode_cursor": ("decode_cursor", "gramstack/"),
    "HashRing.node_for": ("node_for", "ring"),
    "wire_key (cache/meta_client.py)": ("wire_key", "meta_client"),
    "hydration (domain/hydration.py, whole)": ("_users_and_flags|_cached_records", "hydration"),
    "media (api/serializers.py, whole)": ("media", "serializers.py"),
    "SQL (InlineReader.fetch, aiosqlite)": ("fetch|_connection_worker_thread", "sqlite"),
}


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def _seed(base_url: str, users: int, posts_per_user: int) -> list[tuple[str, str]]:
    """(username, token) of each seeded user; everyone follows ~half the others."""
    rng = random.Random(14)
    photo = _jpeg()
    accounts: list[tuple[str, str]] = []
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for i in range(users):
            name = f"prof{i}"
            signup = client.post(f"{API}/accounts", json={"username": name, "password": "pw pw pw"})
            signup.raise_for_status()
            accounts.append((name, signup.json()["token"]))
        for name, token in accounts:
            auth = {"Authorization": f"Bearer {token}"}
            for j in range(posts_per_user):
                client.post(
                    f"{API}/media",
                    headers=auth,
                    files={"file": ("a.jpg", photo, "image/jpeg")},
                    data={"caption": f"{name} {j}"},
                ).raise_for_status()
            for other, _ in rng.sample(accounts, len(accounts) // 2):
                if other != name:
                    client.put(f"{API}/users/{other}/follow", headers=auth).raise_for_status()
    return accounts


async def _drive(base_url: str, accounts: list[tuple[str, str]], seconds: float) -> int:
    done = 0
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:

        async def reader(name: str, token: str) -> None:
            nonlocal done
            auth = {"Authorization": f"Bearer {token}"}
            while time.monotonic() < deadline:
                cursor = None
                for _ in range(3):  # walk three feed pages by their cursors
                    params = {"limit": "20", **({"cursor": cursor} if cursor else {})}
                    page = (await client.get(f"{API}/feed", headers=auth, params=params)).json()
                    done += 1
                    cursor = page["next_cursor"]
                    for item in page["items"][:2]:
                        await client.get(f"{API}/media/{item['id']}", headers=auth)
                        done += 1
                    if cursor is None:
                        break
                await client.get(f"{API}/users/{name}/media", params={"limit": "20"})
                done += 1

        await asyncio.gather(*(reader(name, token) for name, token in accounts[:8]))
    return done


def _worker_pid(server_pid: int) -> int:
    """The prefork worker (the one child), or the server itself if it has none."""
    try:
        out = subprocess.run(
            ["pgrep", "-P", str(server_pid)], capture_output=True, text=True, check=False
        ).stdout.split()
    except FileNotFoundError:
        return server_pid
    return int(out[0]) if out else server_pid


# Leaf frames where a thread waits rather than works: the event loop in its
# selector, aiosqlite's helper thread on its queue.
_IDLE_LEAVES = ("Runner.run (", "_connection_worker_thread (aiosqlite/core.py:59)")


def busy_stacks(raw: str) -> Iterator[tuple[list[str], int]]:
    """The frames and sample count of each stack in py-spy's raw (collapsed)
    output whose leaf is working, not waiting in an ``_IDLE_LEAVES`` frame."""
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        frames = stack.split(";")
        if frames[-1].startswith(_IDLE_LEAVES):
            continue
        yield frames, int(count_text)


def _shares(raw: str) -> tuple[int, Counter[str]]:
    """Busy samples and, per candidate, busy samples whose stack includes it."""
    patterns = {
        label: re.compile(rf"(^|\.)(?:{func}) \([^)]*{re.escape(module)}")
        for label, (func, module) in CANDIDATES.items()
    }
    busy = 0
    hits: Counter[str] = Counter()
    for frames, count in busy_stacks(raw):
        busy += count
        for label, pattern in patterns.items():
            if any(pattern.search(frame) for frame in frames):
                hits[label] += count
    return busy, hits


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _record(pid: int, seconds: float, raw_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            "250",
            "--duration",
            str(int(seconds)),
            "--output",
            str(raw_path),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# Speedups on and off: two servers side by side, measured in alternating windows.
MODES = {"on": {"GRAMSTACK_NO_EXTENSIONS": ""}, "off": {"GRAMSTACK_NO_EXTENSIONS": "1"}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--posts-per-user", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one window")
    parser.add_argument("--rounds", type=int, default=3, help="CPU windows per mode")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    memcached = {mode: [start_memcached(), start_memcached()] for mode in MODES}
    servers = {}
    cpu_per_request: dict[str, float] = {}
    rates: dict[str, float] = {}
    shares: dict[str, tuple[int, Counter[str]]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="gramstack-profile-") as tmp:
            for mode, mode_env in MODES.items():
                env = {
                    **BENCH_ENV,
                    "GRAMSTACK_CACHE_BACKEND": "memcached",
                    "GRAMSTACK_MEMCACHED_SERVERS": ",".join(m.address for m in memcached[mode]),
                    **mode_env,
                }
                servers[mode] = start_server(Path(tmp) / mode, env=env, workers=1)
            accounts = {
                mode: _seed(server.base_url, args.users, args.posts_per_user)
                for mode, server in servers.items()
            }
            for mode, server in servers.items():
                asyncio.run(_drive(server.base_url, accounts[mode], 2.0))  # warm the cache
            # CPU per request: the worker's own CPU clock, steadier than requests/s
            # on a machine shared with the load generator and other work.
            for _ in range(args.rounds):
                for mode, server in servers.items():
                    pid = _worker_pid(server.process.pid)
                    before, started = _cpu_seconds(pid), time.monotonic()
                    done = asyncio.run(_drive(server.base_url, accounts[mode], args.seconds))
                    used, elapsed = _cpu_seconds(pid) - before, time.monotonic() - started
                    per = used / done * 1e6
                    cpu_per_request[mode] = min(cpu_per_request.get(mode, per), per)
                    rates[mode] = max(rates.get(mode, 0.0), done / elapsed)
            for mode, server in servers.items():
                raw_path = args.out / f"profile-speedups-{mode}.txt"
                spy = _record(_worker_pid(server.process.pid), args.seconds, raw_path)
                asyncio.run(_drive(server.base_url, accounts[mode], args.seconds))
                spy.wait(timeout=args.seconds + 60)
                shares[mode] = _shares(raw_path.read_text())
    finally:
        for server in servers.values():
            server.stop()
        for pair in memcached.values():
            for m in pair:
                stop_memcached(m)
    print(f"{'hot path (share of busy samples)':<42} {'speedups on':>12} {'off':>8}")
    for label in CANDIDATES:
        row = [100 * shares[mode][1][label] / max(1, shares[mode][0]) for mode in MODES]
        print(f"{label:<42} {row[0]:11.1f}% {row[1]:7.1f}%")
    print(
        f"{'worker CPU per request (best window)':<42} {cpu_per_request['on']:9.0f} µs "
        f"{cpu_per_request['off']:5.0f} µs"
    )
    print(
        f"{'requests/s (best window; shared machine)':<42} {rates['on']:12.0f} {rates['off']:8.0f}"
    )
    print(f"ratio CPU per request off/on: {cpu_per_request['off'] / cpu_per_request['on']:.2f}")
    print(f"raw stacks: {args.out}/profile-speedups-{{on,off}}.txt")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
