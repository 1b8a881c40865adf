"""Follower reads and read-your-writes on a real leader/follower cluster.

Starts a throwaway dev cluster (``gramstack dev-cluster`` code) and a
``gramstack serve`` on it, then measures:

1. the share of primary-store reads served by followers in a mixed
   workload (80% reads, 20% writes, many users, several clients at once);
2. read-your-writes violations in N write-then-read pairs while every
   follower applies WAL ``--apply-delay-ms`` late (recovery_min_apply_delay),
   plus, as a control, how often another user's read of the same data was
   stale (proving the lag was real).

    .venv/bin/python bench/follower_reads.py [--pairs 1000] [--ops 4000] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from gramstack.runtime import devcluster

API = "/api/v1"
NODE = "x-gramstack-read-node"
READS = re.compile(r'^gramstack_db_reads_total\{node="([^"]+)",reason="([^"]+)"\} (\S+)$', re.M)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


class _Server:
    def __init__(self, env: dict[str, str], workers: int, data_dir: Path) -> None:
        self.base_url = f"http://127.0.0.1:{_free_port()}"
        port = self.base_url.rsplit(":", 1)[1]
        self.log = open(data_dir / "server.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gramstack.cli", "serve", "--port", port,
             "--data-dir", str(data_dir), "--workers", str(workers)],
            stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **env},
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base_url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start; see " + str(data_dir / "server.log"))

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _reads(base_url: str) -> Counter[tuple[str, str]]:
    text = httpx.get(base_url + "/metrics", timeout=10).text
    return Counter({(n, r): float(v) for n, r, v in READS.findall(text)})


def _signup(client: httpx.Client, name: str) -> dict[str, Any]:
    body = {"username": name, "password": "bench password"}
    reply = client.post(f"{API}/accounts", json=body)
    reply.raise_for_status()
    data: dict[str, Any] = reply.json()
    return {
        "name": name,
        "id": data["user"]["id"],
        "auth": {"Authorization": f"Bearer {data['token']}"},
    }


def mixed_workload(base_url: str, users: int, ops: int, clients: int) -> dict[str, Any]:
    rng = random.Random(4)
    tag = f"m{int(time.time())}"
    image = _png()
    with httpx.Client(base_url=base_url, timeout=30) as client:
        people = [_signup(client, f"{tag}_{i}") for i in range(users)]
        media: list[str] = []
        for person in people:
            reply = client.post(f"{API}/media", headers=person["auth"],
                                files={"file": ("p.png", image, "image/png")})  # fmt: skip
            reply.raise_for_status()
            media.append(reply.json()["id"])
        for person in people:
            for other in rng.sample(people, 5):
                if other is not person:
                    client.put(f"{API}/users/{other['name']}/follow", headers=person["auth"])
    time.sleep(1.0)  # let set-up writes replicate and be polled
    idle_before = _reads(base_url)
    time.sleep(2.0)
    idle_rate = {k: (v - idle_before[k]) / 2.0 for k, v in _reads(base_url).items()}

    def one(i: int, client: httpx.Client) -> str:
        r = random.Random(i)
        person = r.choice(people)
        target = r.choice(media)
        roll = r.random()
        if roll < 0.10:
            reply = client.put(f"{API}/media/{target}/like", headers=person["auth"])
        elif roll < 0.15:
            reply = client.delete(f"{API}/media/{target}/like", headers=person["auth"])
        elif roll < 0.20:
            reply = client.post(f"{API}/media/{target}/comments", headers=person["auth"],
                                json={"text": f"comment {i}"})  # fmt: skip
        elif roll < 0.45:
            reply = client.get(f"{API}/media/{target}", headers=person["auth"])
        elif roll < 0.60:
            reply = client.get(f"{API}/feed", headers=person["auth"])
        elif roll < 0.75:
            reply = client.get(f"{API}/users/{r.choice(people)['name']}", headers=person["auth"])
        elif roll < 0.85:
            reply = client.get(f"{API}/media/{target}/comments")
        else:
            reply = client.get(f"{API}/users/{r.choice(people)['name']}/media")
        reply.raise_for_status()
        return reply.headers.get(NODE, "")

    local = threading.local()

    def run(i: int) -> str:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base_url, timeout=30)
        return one(i, local.client)

    before = _reads(base_url)
    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        headers = list(pool.map(run, range(ops)))
    elapsed = time.monotonic() - started
    delta = _reads(base_url) - before
    background = {k: rate * elapsed for k, rate in idle_rate.items()}
    by_request = {k: max(0.0, v - background.get(k, 0.0)) for k, v in delta.items()}

    def share(counts: dict[tuple[str, str], float], *, fresh: bool) -> float:
        kept = {k: v for k, v in counts.items() if fresh or k[1] != "fresh"}
        total = sum(kept.values())
        on_followers = sum(v for (node, _), v in kept.items() if node.startswith("follower"))
        return round(on_followers / total, 4) if total else 0.0

    nodes_seen = Counter(h for h in headers if h)
    return {
        "ops": ops,
        "seconds": round(elapsed, 2),
        "reads_by_node_and_reason": {
            f"{n}/{r}": round(v) for (n, r), v in sorted(by_request.items())
        },
        "follower_share_of_routed_reads": share(by_request, fresh=False),
        "follower_share_of_all_reads_incl_token_checks": share(by_request, fresh=True),
        "requests_by_read_nodes_header": dict(nodes_seen.most_common()),
        "job_poll_reads_excluded": round(sum(background.values())),
    }


async def _set_apply_delay(cluster: devcluster.ClusterState, delay_ms: int) -> None:
    for node in cluster.followers:
        conn = await asyncpg.connect(cluster.superuser_dsn(node))
        try:
            await conn.execute(f"ALTER SYSTEM SET recovery_min_apply_delay = '{delay_ms}ms'")
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()


def ryw_pairs(base_url: str, pairs: int, clients: int) -> dict[str, Any]:
    tag = f"r{int(time.time())}"
    with httpx.Client(base_url=base_url, timeout=30) as client:
        writers = [_signup(client, f"{tag}_{i}") for i in range(clients)]
    time.sleep(1.5)
    lock = threading.Lock()
    result: Counter[str] = Counter()

    def run(index: int) -> None:
        person = writers[index]
        with httpx.Client(base_url=base_url, timeout=30) as client:
            for n in range(index, pairs, clients):
                bio = f"bio {n}"
                reply = client.patch(f"{API}/me", headers=person["auth"], json={"bio": bio})
                reply.raise_for_status()
                mine = client.get(f"{API}/me", headers=person["auth"])
                other = client.get(f"{API}/users/{person['name']}")
                with lock:
                    result["pairs"] += 1
                    result["violations"] += mine.json()["bio"] != bio
                    result[f"own_read_on:{mine.headers.get(NODE, '?')}"] += 1
                    result["others_saw_stale"] += other.json()["bio"] != bio

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, range(clients)))
    return dict(result)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--followers", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--ops", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--apply-delay-ms", type=int, default=200)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="gramstack-bench-"))
    workdir.chmod(0o755)  # the servers run as the postgres user when we are root
    cluster = devcluster.up(workdir / "cluster", followers=args.followers)
    (workdir / "server").mkdir()
    env = {
        **cluster.env,
        "GRAMSTACK_EXPOSE_BACKEND_HEADER": "1",
        "GRAMSTACK_ARGON2_TIME_COST": "1",
        "GRAMSTACK_ARGON2_MEMORY_KIB": "1024",
        "GRAMSTACK_SIGNUP_RATE_PER_MINUTE": "1000000",
        "GRAMSTACK_LOGIN_RATE_PER_MINUTE": "1000000",
    }
    server = None
    try:
        server = _Server(env, args.workers, workdir / "server")
        results: dict[str, Any] = {"settings": vars(args) | {"json": None}}
        results["mixed"] = mixed_workload(server.base_url, args.users, args.ops, args.clients)
        asyncio.run(_set_apply_delay(cluster, args.apply_delay_ms))
        results["read_your_writes_under_lag"] = ryw_pairs(server.base_url, args.pairs, args.clients)
    finally:
        if server is not None:
            server.stop()
        devcluster.down(Path(cluster.directory))
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    mixed, ryw = results["mixed"], results["read_your_writes_under_lag"]
    print(
        f"follower share of reads: {mixed['follower_share_of_routed_reads']:.1%}"
        f" (counting token checks: {mixed['follower_share_of_all_reads_incl_token_checks']:.1%});"
        f" read-your-writes violations: {ryw['violations']} in {ryw['pairs']} pairs"
        f" (others saw stale data in {ryw['others_saw_stale']})",
        file=sys.stderr,
    )
    return 0 if ryw["violations"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
