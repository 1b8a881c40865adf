"""User search latency against the number of users, and its query plans.

Seeds N users (random usernames and two-word full names, follower counts
from a long-tailed distribution) with bulk SQL, then times the search query
of ``GET /api/v1/search/users`` (``SqlDiscoveryStore.search_users``, the
store call a cache miss makes) for random prefixes of 1 to 4 characters
and prints p50/p99 per size and backend, the 100k/10k ratio, and the plan
each backend chose (SQLite ``EXPLAIN QUERY PLAN``, PostgreSQL ``EXPLAIN``).

    .venv/bin/python bench/user_search_bench.py [--sizes 10000,100000] [--queries 400]
        [--sqlite-only]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import string
import tempfile
import time
from pathlib import Path
from typing import Any

from gramstack.runtime import devcluster
from gramstack.storage.accounts import search_words
from gramstack.storage.discovery import (
    SEARCH_CANDIDATES,
    SEARCH_SQL,
    SqlDiscoveryStore,
    prefix_successor,
)
from gramstack.storage.ports import Database
from gramstack.storage.postgres import PostgresDatabase
from gramstack.storage.schema import migrate
from gramstack.storage.sqlite import SqliteDatabase

FIRST_NAMES = ["ana", "bo", "cy", "dana", "eli", "fatima", "gus", "hana", "ivan", "jun", "kai"]
PAGE = 21  # the default page plus one, as the use case asks


def _name(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase + string.digits, k=rng.randint(4, 14)))


async def _seed(db: Database, n: int, start: int, rng: random.Random) -> None:
    users = []
    words = []
    for i in range(start, start + n):
        username = f"{_name(rng)}{i}"
        full_name = f"{rng.choice(FIRST_NAMES).title()} {_name(rng).title()}"
        followers = int(rng.paretovariate(1.2)) - 1
        users.append((i, username, "x", full_name, 1, followers))
        words += [(w, i) for w in search_words(username, full_name)]
    async with db.write() as conn:
        await conn.executemany(
            "INSERT INTO users (id, username, password_hash, full_name, created_at,"
            " follower_count) VALUES ($1, $2, $3, $4, $5, $6)",
            users,
        )
        await conn.executemany("INSERT INTO user_words (word, user_id) VALUES ($1, $2)", words)
    if db.dialect == "postgres":
        async with db.write() as conn:
            await conn.execute("ANALYZE users")
            await conn.execute("ANALYZE user_words")


async def _plan(db: Database, prefix: str) -> list[str]:
    sql = SEARCH_SQL
    args = (prefix, prefix_successor(prefix), SEARCH_CANDIDATES, PAGE, 0)
    explain = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN (ANALYZE, COSTS OFF) "
    async with db.read() as conn:
        rows = await conn.fetch(explain + sql, *args)
    if db.dialect == "sqlite":
        return [str(row["detail"]) for row in rows]
    return [str(next(iter(row.values()))) for row in rows]


async def _time(store: SqlDiscoveryStore, rng: random.Random, queries: int) -> dict[str, Any]:
    by_length: dict[int, list[float]] = {}
    for _ in range(queries):
        length = rng.randint(1, 4)
        prefix = "".join(rng.choices(string.ascii_lowercase, k=length))
        start = time.perf_counter()
        await store.search_users(prefix, 0, PAGE)
        by_length.setdefault(length, []).append((time.perf_counter() - start) * 1000)
    every = sorted(t for ts in by_length.values() for t in ts)

    def pct(values: list[float], q: float) -> float:
        return round(sorted(values)[min(len(values) - 1, int(q * len(values)))], 3)

    return {
        "p50_ms": round(statistics.median(every), 3),
        "p99_ms": pct(every, 0.99),
        "p50_ms_by_prefix_length": {k: pct(v, 0.5) for k, v in sorted(by_length.items())},
    }


async def _run(db: Database, sizes: list[int], queries: int) -> list[dict[str, Any]]:
    await db.open()
    try:
        await migrate(db)
        store = SqlDiscoveryStore(db)
        rng = random.Random(15)
        results = []
        seeded = 0
        for size in sizes:
            await _seed(db, size - seeded, 1_000_000 + seeded, rng)
            seeded = size
            await _time(store, rng, 50)  # warm the page cache
            timing = await _time(store, rng, queries)
            results.append(
                {
                    "backend": db.dialect,
                    "users": size,
                    **timing,
                    "plan_one_letter": await _plan(db, "a"),
                    "plan_three_letters": await _plan(db, "ana"),
                }
            )
        return results
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="gramstack-search-bench-"))
    scratch.chmod(0o755)  # the PostgreSQL server runs as its own user
    results: list[dict[str, Any]] = []
    try:
        results += asyncio.run(_run(SqliteDatabase(scratch / "search.db"), sizes, args.queries))
        if not args.sqlite_only:
            cluster = devcluster.up(scratch / "pg", followers=0)
            try:
                pg = PostgresDatabase(cluster.database_url, max_size=2)
                results += asyncio.run(_run(pg, sizes, args.queries))
            finally:
                devcluster.down(Path(cluster.directory))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for backend in ("sqlite", "postgres"):
        rows = [r for r in results if r["backend"] == backend]
        if len(rows) >= 2:
            print(
                f"{backend}: p50 ratio {rows[-1]['p50_ms'] / rows[0]['p50_ms']:.2f},"
                f" p99 ratio {rows[-1]['p99_ms'] / rows[0]['p99_ms']:.2f}"
                f" ({rows[-1]['users']} vs {rows[0]['users']} users)"
            )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
