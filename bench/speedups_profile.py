"""Where one worker's CPU goes on a feed-heavy workload, for choosing speedups.

Starts ``gramstack serve`` (one worker, SQLite, memcached cache on two
servers so the hash ring is on the path), seeds a small graph over HTTP,
then records the worker with py-spy while clients walk feeds page by page
(cursors), read media and users. Prints each candidate hot path's share of
the worker's samples (inclusive), and keeps the raw py-spy stacks.

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
from pathlib import Path

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gramstack.runtime.devcluster.memcached import start_memcached, stop_memcached  # noqa: E402
from tests.support.server import start_server  # noqa: E402

API = "/api/v1"
# Function names (as py-spy reports them) of the candidate hot paths.
CANDIDATES = {
    "timestamp (api/serializers.py)": ("timestamp", "serializers.py"),
    "encode_cursor (domain/pagination.py)": ("encode_cursor", "pagination"),
    "decode_cursor (domain/pagination.py)": ("decode_cursor", "pagination"),
    "HashRing.node_for (cache/ring.py)": ("node_for", "ring"),
    "id_parts / compose_id (domain/ids.py)": ("id_parts", "ids"),
    "media_json (serializers, whole)": ("media_json", "serializers.py"),
    "json encoding of responses": ("render", "responses.py"),
    "SQL (aiosqlite helper thread)": ("_connection_worker_thread", "aiosqlite"),
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


def _shares(raw: str) -> tuple[int, Counter[str]]:
    """Busy samples and, per candidate, busy samples whose stack includes it."""
    patterns = {
        label: re.compile(rf"(^|\.){re.escape(func)} \([^)]*{re.escape(module)}")
        for label, (func, module) in CANDIDATES.items()
    }
    busy = 0
    hits: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        frames = stack.split(";")
        if frames[-1].startswith(_IDLE_LEAVES):
            continue
        count = int(count_text)
        busy += count
        for label, pattern in patterns.items():
            if any(pattern.search(frame) for frame in frames):
                hits[label] += count
    return busy, hits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--posts-per-user", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--label",
        default="speedups-" + ("off" if os.environ.get("GRAMSTACK_NO_EXTENSIONS") else "on"),
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    memcached = [start_memcached(), start_memcached()]
    try:
        with tempfile.TemporaryDirectory(prefix="gramstack-profile-") as tmp:
            env = {
                "GRAMSTACK_LOG_LEVEL": "warning",
                "GRAMSTACK_CACHE_BACKEND": "memcached",
                "GRAMSTACK_MEMCACHED_SERVERS": ",".join(m.address for m in memcached),
            }
            server = start_server(Path(tmp), env=env, workers=1)
            try:
                accounts = _seed(server.base_url, args.users, args.posts_per_user)
                asyncio.run(_drive(server.base_url, accounts, 2.0))  # warm the cache
                raw_path = args.out / f"profile-{args.label}.txt"
                spy = subprocess.Popen(
                    [
                        str(Path(sys.executable).with_name("py-spy")),
                        "record",
                        "--pid",
                        str(_worker_pid(server.process.pid)),
                        "--format",
                        "raw",
                        "--rate",
                        "250",
                        "--duration",
                        str(int(args.seconds)),
                        "--output",
                        str(raw_path),
                        "--nonblocking",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                requests = asyncio.run(_drive(server.base_url, accounts, args.seconds))
                spy.wait(timeout=args.seconds + 60)
            finally:
                server.stop()
    finally:
        for m in memcached:
            stop_memcached(m)
    total, hits = _shares(raw_path.read_text())
    print(f"{requests} requests in {args.seconds:.0f} s; {total} busy samples of the worker")
    print(f"{'hot path':<42} {'share of busy samples':>24}")
    for label in CANDIDATES:
        print(f"{label:<42} {100 * hits[label] / max(1, total):23.1f}%")
    print(f"raw stacks: {raw_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
