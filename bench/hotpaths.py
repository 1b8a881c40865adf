"""Issue 14's hot paths, before and after, as shares of a Starlette hello-world.

Starts three servers of one worker each on the same stack (gunicorn +
uvicorn's worker): "before" (a checkout of the baseline, e.g.
``git worktree add --detach /tmp/before main``), "after" (this tree) and
``bench.hello_app`` (the ceiling); seeds both gramstack servers alike (a
viewer following one poster, 20 posts each, so a feed page is full); then
measures in alternating rounds, best round counting:

- server CPU per request and requests/s of ``GET /api/v1/feed`` (20 items,
  signed in), ``GET /api/v1/media/{id}`` signed in and anonymous, and
  ``GET /api/v1/users/{name}`` signed in, each also as a share of the
  hello-world (by CPU per request: on a shared machine the Python load
  client, not the server, often sets the requests/s);
- with ``--profile S``, py-spy on each worker while it serves the feed for
  S seconds: the share of busy samples whose stack passes through each part
  (inclusive; compiled code has no frames of its own);
- CPU per SQLite session lookup through aiosqlite's thread vs the loop-thread
  reader (``storage.sqlite``), in this process.

Run: ``.venv/bin/python -m bench.hotpaths --before /tmp/before --profile 8``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.api_throughput import API, BENCH_ENV, _auth, _hammer, _process_tree_cpu_s, _seed  # noqa: E402
from bench.speedups_profile import _record, _worker_pid, busy_stacks  # noqa: E402
from tests.support.server import ServerProcess, free_port, start_server  # noqa: E402

# Inclusive profile buckets: a label and a substring of a frame's file.
PARTS = {
    "aiosqlite thread hop": "aiosqlite/",
    "storage/sqlite.py (either path)": "gramstack/storage/sqlite.py",
    "cache client": "gramstack/cache/",
    "hydration": "gramstack/domain/hydration.py",
    "stdlib json": "json/",
    "serializers": "gramstack/api/serializers.py",
    "auth (session lookup)": "gramstack/domain/accounts.py",
    "metrics": "prometheus_client/",
    "starlette": "starlette/",
    "uvicorn + httptools": "uvicorn/",
}


def _start_hello(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(data_dir / "hello.log", "wb")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "bench.hello_app:app",
            "--worker-class",
            "uvicorn_worker.UvicornWorker",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/hello", timeout=1).status_code == 200:
                return process, base_url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the hello-world server did not start")


def _parts(raw: str) -> tuple[int, Counter[str]]:
    busy = 0
    hits: Counter[str] = Counter()
    for frames, count in busy_stacks(raw):
        busy += count
        for label, needle in PARTS.items():
            if any(needle in frame for frame in frames):
                hits[label] += count
    return busy, hits


def _profile_feed(
    server: ServerProcess, token: str, seconds: float, out: Path, concurrency: int
) -> tuple[int, Counter[str]]:
    raw = out / f"{server.data_dir.name}-feed.txt"
    recorder = _record(_worker_pid(server.process.pid), seconds, raw)

    async def drive() -> None:
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(base_url=server.base_url, limits=limits) as client:
            stop = time.monotonic() + seconds

            async def reader() -> None:
                while time.monotonic() < stop:
                    (await client.get(f"{API}/feed", headers=_auth(token))).raise_for_status()

            await asyncio.gather(*(reader() for _ in range(concurrency)))

    asyncio.run(drive())
    recorder.wait(timeout=seconds + 30)
    return _parts(raw.read_text() if raw.exists() else "")


def _session_lookup_cpu(tmp: Path, lookups: int) -> dict[str, float]:
    """CPU µs per session lookup: aiosqlite's helper thread vs the loop thread."""
    from gramstack.storage.schema import migrate
    from gramstack.storage.sqlite import SqliteConnection, SqliteDatabase

    sql = "SELECT user_id FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL"

    async def run() -> dict[str, float]:
        db = SqliteDatabase(tmp / "lookup.db")
        await db.open()
        await migrate(db)
        async with db.write() as conn:
            await conn.execute(
                "INSERT INTO users (id, username, password_hash, created_at)"
                " VALUES (1, 'u', 'x', 0)"
            )
            await conn.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at) VALUES ('t', 1, 0)"
            )
        pooled = SqliteConnection(db._all[1], db.name)
        results: dict[str, float] = {}
        for label in ("aiosqlite", "loop thread", "aiosqlite ", "loop thread "):
            started = time.process_time()  # every thread of this process
            for _ in range(lookups):
                if label.startswith("aiosqlite"):
                    assert await pooled.fetchval(sql, "t") == 1
                else:
                    async with db.read() as conn:
                        assert await conn.fetchval(sql, "t") == 1
            spent = (time.process_time() - started) / lookups * 1e6
            results[label.strip()] = min(results.get(label.strip(), 1e9), spent)
        await db.close()
        return results

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="baseline source tree")
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=float, default=0.0, help="py-spy seconds (0: none)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    env = BENCH_ENV
    trees = {"before": args.before.resolve(), "after": ROOT}
    servers: dict[str, ServerProcess] = {}
    hello: subprocess.Popen[bytes] | None = None
    rates: dict[str, dict[str, float]] = {}
    cpu: dict[str, dict[str, float]] = {}
    profiles: dict[str, tuple[int, Counter[str]]] = {}
    with tempfile.TemporaryDirectory(prefix="gramstack-hotpaths-") as tmp:
        # ``python -m`` puts the working directory first on a server's path,
        # ahead of PYTHONPATH: run them from elsewhere, or "before" would
        # import this tree when started from its root.
        os.chdir(tmp)
        try:
            for name, tree in trees.items():
                servers[name] = start_server(
                    Path(tmp) / name, env={**env, "PYTHONPATH": str(tree)}, workers=1
                )
            hello, hello_url = _start_hello(Path(tmp) / "hello")
            seeded = {name: _seed(server.base_url) for name, server in servers.items()}
            for round_ in range(args.rounds):
                order = list(servers.items())[:: 1 if round_ % 2 == 0 else -1]
                cpu_before = _process_tree_cpu_s(hello.pid)
                rate = asyncio.run(
                    _hammer(hello_url, "/hello", {}, args.requests, args.concurrency)
                )
                used = (_process_tree_cpu_s(hello.pid) - cpu_before) * 1e6 / args.requests
                rates.setdefault("hello", {})["starlette"] = max(
                    rates.get("hello", {}).get("starlette", 0.0), rate
                )
                cpu.setdefault("hello", {})["starlette"] = min(
                    cpu.get("hello", {}).get("starlette", 1e12), used
                )
                for name, server in order:
                    token, media_id = seeded[name]
                    targets = {
                        "GET /feed (20 items, signed in)": (f"{API}/feed", _auth(token)),
                        "GET /media/{id} signed in": (f"{API}/media/{media_id}", _auth(token)),
                        "GET /media/{id} anonymous": (f"{API}/media/{media_id}", {}),
                        "GET /users/{name} signed in": (f"{API}/users/poster", _auth(token)),
                    }
                    for target, (path, headers) in targets.items():
                        cpu_before = _process_tree_cpu_s(server.process.pid)
                        rate = asyncio.run(
                            _hammer(server.base_url, path, headers, args.requests, args.concurrency)
                        )
                        used = (_process_tree_cpu_s(server.process.pid) - cpu_before) * 1e6
                        row = rates.setdefault(target, {})
                        row[name] = max(row.get(name, 0.0), rate)
                        spent = cpu.setdefault(target, {})
                        spent[name] = min(spent.get(name, 1e12), used / args.requests)
            if args.profile > 0:
                for name, server in servers.items():
                    token, _ = seeded[name]
                    profiles[name] = _profile_feed(
                        server, token, args.profile, args.out, args.concurrency
                    )
        except Exception:
            for name, server in servers.items():
                print(f"--- {name} server log (tail) ---\n{server.log()[-3000:]}", file=sys.stderr)
            raise
        finally:
            for server in servers.values():
                server.stop()
            if hello is not None:
                hello.terminate()
                hello.wait(timeout=10)
        lookups = _session_lookup_cpu(Path(tmp), 3000)

    ceiling = rates["hello"]["starlette"]
    ceiling_cpu = cpu["hello"]["starlette"]
    print(f"one worker each, SQLite, {args.concurrency} clients, best of {args.rounds} rounds")
    print(
        f"Starlette hello-world: {ceiling:.0f} requests/s,"
        f" {ceiling_cpu:.0f} µs CPU/request (= 1.00)"
    )
    print(
        "share of hello = hello's CPU per request / this request's (the requests/s share a"
        " CPU-bound worker reaches; the load client's own rate is also shown)"
    )
    print(
        f"{'request':34} {'CPU µs/req before → after':>26} {'share before → after':>22}"
        f" {'req/s before → after':>22}"
    )
    report: dict[str, object] = {
        "hello": {"rps": round(ceiling), "cpu_us_per_request": round(ceiling_cpu)}
    }
    for target, row in rates.items():
        if target == "hello":
            continue
        used = cpu[target]
        share = {name: ceiling_cpu / used[name] for name in used}
        print(
            f"{target:34} {used['before']:14.0f} → {used['after']:6.0f}"
            f" {share['before']:13.3f} → {share['after']:5.3f}"
            f" {row['before']:13.0f} → {row['after']:5.0f}"
        )
        report[target] = {
            "rps": {k: round(v) for k, v in row.items()},
            "cpu_us_per_request": {k: round(v) for k, v in used.items()},
            "share_of_hello_by_cpu": {k: round(v, 3) for k, v in share.items()},
            "share_of_hello_by_rps": {k: round(v / ceiling, 3) for k, v in row.items()},
        }
    if profiles:
        print("feed profile, share of busy samples (inclusive):")
        print(f"  {'part':26} {'before':>8} {'after':>8}")
        for label in PARTS:
            shares = {
                name: (hits[label] / busy if busy else 0.0)
                for name, (busy, hits) in profiles.items()
            }
            print(f"  {label:26} {shares['before']:8.1%} {shares['after']:8.1%}")
        report["feed_profile"] = {
            name: {label: round(hits[label] / busy, 3) if busy else 0 for label in PARTS}
            for name, (busy, hits) in profiles.items()
        }
    print(
        f"session lookup, CPU µs: aiosqlite {lookups['aiosqlite']:.1f}"
        f"  loop thread {lookups['loop thread']:.1f}"
    )
    report["session_lookup_cpu_us"] = {k: round(v, 1) for k, v in lookups.items()}
    (args.out / "hotpaths.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
