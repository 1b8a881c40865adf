"""Cache benchmark: what the lease cache buys, as ratios measured in one run.

1. Reads/s of ``GET /api/v1/media/{id}`` against a real server (two prefork
   workers, SQLite) with the in-process cache, with memcached, and with the
   cache off (``GRAMSTACK_CACHE_BACKEND=none``).
2. Database queries per 1,000 concurrent reads of one cold media item, with
   leases and with leases off (``cache_leases``), on real memcached and on
   the in-process cache, counted by a wrapper around the ``Database`` port.

Loopback only, bounded loops. Run: ``.venv/bin/python -m bench.cache_bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gramstack.domain.media import get_media  # noqa: E402
from gramstack.runtime.devcluster.memcached import (  # noqa: E402
    MemcachedProcess,
    start_memcached,
    stop_memcached,
)
from gramstack.storage.schema import migrate  # noqa: E402
from gramstack.storage.sqlite import SqliteDatabase  # noqa: E402
from tests.integration.cache.conftest import (  # noqa: E402
    CountingDatabase,
    make_backends,
    make_cache,
    seed_media,
    seed_user,
)
from tests.support.server import start_server  # noqa: E402

API = "/api/v1"


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def _seed_over_http(base_url: str) -> str:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        name = f"bench{int(time.time() * 1000) % 10**9}"
        signup = client.post(
            f"{API}/accounts", json={"username": name, "password": "benchmark pass"}
        )
        signup.raise_for_status()
        token = signup.json()["token"]
        posted = client.post(
            f"{API}/media",
            headers={"Authorization": f"Bearer {token}"},
            files={"file": ("a.jpg", _jpeg(), "image/jpeg")},
            data={"caption": "bench"},
        )
        posted.raise_for_status()
        return str(posted.json()["id"])


async def _hammer(base_url: str, media_id: str, requests: int, concurrency: int) -> float:
    """Requests per second for ``requests`` GETs spread over ``concurrency`` clients."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        path = f"{API}/media/{media_id}"
        for _ in range(50):  # warm up connections (and the cache)
            (await client.get(path)).raise_for_status()
        per_worker = requests // concurrency

        async def worker() -> None:
            for _ in range(per_worker):
                response = await client.get(path)
                if response.status_code != 200:
                    raise RuntimeError(f"GET {path}: {response.status_code}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return per_worker * concurrency / (time.perf_counter() - started)


def http_reads(mode: str, env: dict[str, str], requests: int, concurrency: int) -> float:
    with tempfile.TemporaryDirectory(prefix=f"gramstack-bench-{mode}-") as tmp:
        server = start_server(Path(tmp), env={"GRAMSTACK_LOG_LEVEL": "warning", **env}, workers=2)
        try:
            media_id = _seed_over_http(server.base_url)
            return asyncio.run(_hammer(server.base_url, media_id, requests, concurrency))
        finally:
            server.stop()


async def cold_read_queries(
    kind: str, leases: bool, readers: int, memcached: list[MemcachedProcess]
) -> int:
    """Queries on the media table for ``readers`` concurrent reads of a cold item."""
    with tempfile.TemporaryDirectory(prefix="gramstack-bench-db-") as tmp:
        inner = SqliteDatabase(Path(tmp) / "primary.db")
        await inner.open()
        await migrate(inner)
        db = CountingDatabase(inner)
        try:
            # The bare cache: one process, no outbox reads in between.
            cache = make_cache(kind, memcached, leases=leases)
            b = await make_backends(db, cache, synced=False)
            owner = await seed_user(b, "owner")
            cold, other = await seed_media(b, owner), await seed_media(b, owner)
            await get_media(b, other, None)  # only the media item is cold
            db.queries.clear()
            await asyncio.gather(*(get_media(b, cold, None) for _ in range(readers)))
            await b.cache.close()
            return len(db.reads_of("media"))
        finally:
            await inner.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--readers", type=int, default=1000)
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="primary store of the HTTP part (postgres: a dev-cluster leader)",
    )
    args = parser.parse_args(argv)
    database_env: dict[str, str] = {}
    cluster = None
    if args.database == "postgres":
        from tests.support.postgres import start_cluster

        cluster = start_cluster(followers=0)
        database_env = {"GRAMSTACK_DATABASE_URL": cluster.database_url}

    memcached = [start_memcached(), start_memcached()]
    try:
        servers = ",".join(m.address for m in memcached)
        modes = {
            "memory": {"GRAMSTACK_CACHE_BACKEND": "memory"},
            "memcached": {
                "GRAMSTACK_CACHE_BACKEND": "memcached",
                "GRAMSTACK_MEMCACHED_SERVERS": servers,
            },
            "none": {"GRAMSTACK_CACHE_BACKEND": "none"},
        }
        rps = {
            mode: http_reads(mode, {**database_env, **env}, args.requests, args.concurrency)
            for mode, env in modes.items()
        }
        queries: dict[str, int] = {}
        for kind in ("memcached", "memory"):
            for leases in (True, False):
                name = f"{kind}/{'leases' if leases else 'no-leases'}"
                queries[name] = asyncio.run(
                    cold_read_queries(kind, leases, args.readers, memcached)
                )
    finally:
        for server in memcached:
            stop_memcached(server)
        if cluster is not None:
            from tests.support.postgres import stop_cluster

            stop_cluster(cluster)

    report: dict[str, Any] = {
        "reads_per_s": {k: round(v) for k, v in rps.items()},
        "reads_per_s_ratio_memory_vs_none": round(rps["memory"] / rps["none"], 2),
        "reads_per_s_ratio_memcached_vs_none": round(rps["memcached"] / rps["none"], 2),
        f"queries_per_{args.readers}_cold_reads": queries,
        "queries_ratio_no_leases_vs_leases_memcached": round(
            queries["memcached/no-leases"] / max(1, queries["memcached/leases"]), 1
        ),
        "queries_ratio_no_leases_vs_leases_memory": round(
            queries["memory/no-leases"] / max(1, queries["memory/leases"]), 1
        ),
    }
    print(f"GET /api/v1/media/{{id}}, 2 workers, {args.concurrency} clients, {args.database}:")
    for mode, value in rps.items():
        print(f"  cache={mode:<10} {value:8.0f} reads/s")
    print(f"  ratio memory/none    {report['reads_per_s_ratio_memory_vs_none']}x")
    print(f"  ratio memcached/none {report['reads_per_s_ratio_memcached_vs_none']}x")
    print(f"database queries per {args.readers} concurrent reads of one cold media item:")
    for name, count in queries.items():
        print(f"  {name:<22} {count}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
