"""Requests/s of ``GET /api/v1/feed`` and ``GET /api/v1/media/{id}`` on two
servers started in one run: "before" (a checkout of the baseline commit,
e.g. ``git worktree add --detach /tmp/before 64d4c5b``) and "after" (this
tree). Both get the same data (a viewer following one poster; 20 posts each,
so a feed page is full) and are measured in alternating rounds; the best
round of each counts, as ratios after/before.

Run: ``.venv/bin/python -m bench.api_throughput --before /tmp/before``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gramstack.runtime.config import Settings  # noqa: E402
from tests.support.server import ServerProcess, start_server  # noqa: E402

_DEPLOYED = Settings()
# The servers a bench measures run their background loops at the deployed
# defaults: tests.support.server speeds up the job poll and explore refresh
# for tests, and those wake-ups would be charged to every measured request
# (about 15-35 µs of CPU per request at a few hundred requests/s).
BENCH_ENV = {
    "GRAMSTACK_LOG_LEVEL": "warning",
    "GRAMSTACK_JOB_POLL_INTERVAL_S": str(_DEPLOYED.job_poll_interval_s),
    "GRAMSTACK_EXPLORE_REFRESH_S": str(_DEPLOYED.explore_refresh_s),
}

API = "/api/v1"
PASSWORD = "benchmark pass"


def _jpeg(n: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (n * 7 % 256, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def _seed(base_url: str, posts: int = 20) -> tuple[str, str]:
    """(the viewer's token, one media ID)."""
    with httpx.Client(base_url=base_url, timeout=30) as client:

        def signup(name: str) -> str:
            response = client.post(f"{API}/accounts", json={"username": name, "password": PASSWORD})
            response.raise_for_status()
            token: str = response.json()["token"]
            return token

        viewer, poster = signup("viewer"), signup("poster")
        client.put(f"{API}/users/poster/follow", headers=_auth(viewer)).raise_for_status()
        media_id = ""
        for n in range(posts):
            for token in (viewer, poster):
                posted = client.post(
                    f"{API}/media",
                    headers=_auth(token),
                    files={"file": ("a.jpg", _jpeg(n), "image/jpeg")},
                    data={"caption": f"post {n} #bench"},
                )
                posted.raise_for_status()
                media_id = posted.json()["id"]
        feed = client.get(f"{API}/feed", headers=_auth(viewer)).json()
        assert len(feed["items"]) == 20, feed
        return viewer, media_id


def _process_tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its children (the workers):
    steadier than requests/s on a machine shared with other work."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        pending.extend(int(child) for child in children)
    return total


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _hammer(
    base_url: str, path: str, headers: dict[str, str], requests: int, concurrency: int
) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        for _ in range(2 * concurrency):  # warm connections and caches
            (await client.get(path, headers=headers)).raise_for_status()
        per_worker = requests // concurrency

        async def worker() -> None:
            for _ in range(per_worker):
                response = await client.get(path, headers=headers)
                if response.status_code != 200:
                    raise RuntimeError(f"GET {path}: {response.status_code}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return per_worker * concurrency / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="baseline source tree")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    env = BENCH_ENV
    trees = {"before": args.before.resolve(), "after": ROOT}
    servers: dict[str, ServerProcess] = {}
    with tempfile.TemporaryDirectory(prefix="gramstack-throughput-") as tmp:
        # ``python -m`` puts the working directory first on a server's path,
        # ahead of PYTHONPATH: started from this tree's root, "before" would
        # import this tree.
        os.chdir(tmp)
        try:
            for name, tree in trees.items():
                # PYTHONPATH puts that tree's gramstack ahead of the installed one.
                servers[name] = start_server(
                    Path(tmp) / name, env={**env, "PYTHONPATH": str(tree)}, workers=2
                )
            seeded = {name: _seed(server.base_url) for name, server in servers.items()}
            best: dict[str, dict[str, float]] = {"feed": {}, "media": {}}
            cpu: dict[str, dict[str, float]] = {"feed": {}, "media": {}}
            for round_ in range(args.rounds):
                # Alternate who goes first: the machine's load drifts.
                order = list(servers.items())[:: 1 if round_ % 2 == 0 else -1]
                for name, server in order:
                    token, media_id = seeded[name]
                    targets = {
                        "feed": (f"{API}/feed", _auth(token)),
                        "media": (f"{API}/media/{media_id}", _auth(token)),
                    }
                    for target, (path, headers) in targets.items():
                        cpu_before = _process_tree_cpu_s(server.process.pid)
                        rate = asyncio.run(
                            _hammer(server.base_url, path, headers, args.requests, args.concurrency)
                        )
                        cpu_ms = (_process_tree_cpu_s(server.process.pid) - cpu_before) * 1000
                        per_request = cpu_ms / args.requests
                        best[target][name] = max(best[target].get(name, 0.0), rate)
                        cpu[target][name] = min(cpu[target].get(name, 1e9), per_request)
        except Exception:
            for name, server in servers.items():
                print(f"--- {name} server log (tail) ---\n{server.log()[-3000:]}", file=sys.stderr)
            raise
        finally:
            for server in servers.values():
                server.stop()
    print(f"2 workers each, SQLite, {args.concurrency} clients, best of {args.rounds} rounds:")
    report = {}
    for target, rates in best.items():
        ratio = rates["after"] / rates["before"]
        used = cpu[target]
        cpu_ratio = used["before"] / used["after"]
        report[target] = {
            **{k: round(v) for k, v in rates.items()},
            "ratio": round(ratio, 2),
            "server_cpu_ms_per_request": {k: round(v, 2) for k, v in used.items()},
            "cpu_ratio_before_over_after": round(cpu_ratio, 2),
        }
        label = "GET /api/v1/feed" if target == "feed" else "GET /api/v1/media/{id}"
        print(
            f"  {label:24} before {rates['before']:7.0f}/s  after {rates['after']:7.0f}/s"
            f"  after/before {ratio:.2f}x"
        )
        print(
            f"  {'':24} server CPU/request before {used['before']:.2f} ms"
            f"  after {used['after']:.2f} ms  before/after {cpu_ratio:.2f}x"
        )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
