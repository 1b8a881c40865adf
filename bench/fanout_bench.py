"""Fan-out cost against audience size, with and without the
``follows (followee_id, follower_id)`` index (migration 0005).

For an author with N followers (inserted with one bulk SQL statement), it
times the fan-out job's work: page through the followers with
``PrimaryStore.follower_ids_after`` in batches of ``FANOUT_BATCH`` (the
query each fan-out job runs) and append the post to each batch's timelines
in a regional store (``SqlRegionalStore.add_to_timelines``). "before" drops
the new index, which is the schema as it was before migration 0005.

Each backend is real: a SQLite file (the embedded default) and, unless
``--sqlite-only``, a throwaway PostgreSQL leader from the dev-cluster code.
When a "before" run would take too long (the re-sort makes it quadratic),
only ``--sample`` batches spread over the audience are run and the total is
their mean times the batch count; the output says so.

    .venv/bin/python bench/fanout_bench.py [--sizes 1000,10000,100000] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from gramstack.domain.fanout import FANOUT_BATCH
from gramstack.regional.sql import SqlRegionalStore
from gramstack.runtime import devcluster
from gramstack.storage.ports import Database
from gramstack.storage.postgres import PostgresDatabase
from gramstack.storage.schema import migrate
from gramstack.storage.sqlite import SqliteDatabase
from gramstack.storage.store import PrimaryStore

AUTHOR = 1
FIRST_FOLLOWER = 1_000_000
INDEX = "follows_by_followee_follower"
BACKGROUND_AUTHORS = 10
BACKGROUND_FOLLOWERS = 100_000


@dataclass
class Result:
    backend: str
    schema: str  # before | after
    followers: int
    batches: int
    batches_timed: int
    query_s: float  # follower-batch queries, all batches (extrapolated if sampled)
    fanout_s: float  # queries + timeline writes, all batches (extrapolated if sampled)
    ms_per_batch_query: float
    plan: str  # the batch query's plan


def _numbers(dialect: str) -> str:
    """A row source ``n(i)`` for i in 1..$3, in either dialect."""
    if dialect == "postgres":
        return "(SELECT generate_series(1, $3::bigint) AS i) AS n"
    return (
        "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $3)"
        " SELECT i FROM s) AS n"
    )


async def _insert_follows(db: Database, followee: int, count: int, first_id: int) -> None:
    """``count`` followers FIRST_FOLLOWER + 1.. of ``followee``. Follow IDs
    are time-ordered in the app, so unrelated to the follower's ID: they
    are scattered here by a multiplicative permutation of 1..count."""
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO follows (id, follower_id, followee_id, created_at)"
            f" SELECT {first_id} + 1 + (i * 7919) % $3, $1 + i, $2, 0 FROM {_numbers(db.dialect)}",
            FIRST_FOLLOWER,
            followee,
            count,
        )


async def _insert_background(db: Database) -> None:
    """Other accounts' follows, by the same followers (each follows 1 + 10
    accounts): without them every row is the author's, and any index on
    follows serves the batch query in order."""
    for other in range(BACKGROUND_AUTHORS):
        await _insert_follows(db, AUTHOR + 1 + other, BACKGROUND_FOLLOWERS, (other + 1) * 10**7)


async def _insert_followers(db: Database, count: int) -> None:
    async with db.write() as conn:
        await conn.execute("DELETE FROM follows WHERE followee_id = $1", AUTHOR)
    await _insert_follows(db, AUTHOR, count, 0)
    async with db.write() as conn:
        await conn.execute("ANALYZE follows")


async def _batch_plan(db: Database, schema: str) -> str:
    # The comment makes the text new: SQLite would answer a cached EXPLAIN
    # with the plan it made before the index was dropped.
    sql = (
        "SELECT follower_id FROM follows WHERE followee_id = $1 AND follower_id > $2"
        f" ORDER BY follower_id LIMIT $3 -- {schema}"
    )
    async with db.read(fresh=True) as conn:
        # A real read first: it makes a SQLite connection load the schema
        # as it is now, which an EXPLAIN alone does not.
        await conn.fetchval("SELECT count(*) FROM follows WHERE followee_id = $1", AUTHOR)
        if db.dialect == "postgres":
            rows = await conn.fetch("EXPLAIN " + sql, AUTHOR, FIRST_FOLLOWER, FANOUT_BATCH)
            return " / ".join(r["QUERY PLAN"].strip() for r in rows)
        rows = await conn.fetch("EXPLAIN QUERY PLAN " + sql, AUTHOR, FIRST_FOLLOWER, FANOUT_BATCH)
        return " / ".join(r["detail"] for r in rows)


async def _set_schema(db: Database, schema: str) -> None:
    async with db.write() as conn:
        if schema == "before":
            await conn.execute(f"DROP INDEX IF EXISTS {INDEX}")
        else:
            await conn.execute(
                f"CREATE INDEX IF NOT EXISTS {INDEX} ON follows (followee_id, follower_id)"
            )
        await conn.execute("ANALYZE follows")


async def _fanout(
    store: PrimaryStore, regional: SqlRegionalStore, count: int, sample: int | None
) -> tuple[int, int, float, float]:
    """(batches, batches timed, query seconds, fan-out seconds), extrapolated
    to every batch when only ``sample`` of them are run."""
    batches = -(-count // FANOUT_BATCH)
    if sample is None or sample >= batches:
        starts = [None]  # one walk through all batches
    else:
        step = batches // sample
        # Batch k starts after follower FIRST_FOLLOWER + k * FANOUT_BATCH.
        starts = [FIRST_FOLLOWER + k * step * FANOUT_BATCH for k in range(sample)]
    query_s = write_s = 0.0
    timed = 0
    media_id = int(time.time() * 1000)
    for start in starts:
        after = 0 if start is None else start
        while True:
            began = time.perf_counter()
            followers = await store.follower_ids_after(AUTHOR, after, FANOUT_BATCH)
            queried = time.perf_counter()
            await regional.add_to_timelines(followers, media_id, AUTHOR)
            write_s += time.perf_counter() - queried
            query_s += queried - began
            timed += 1
            if len(followers) < FANOUT_BATCH or start is not None:
                break
            after = followers[-1]
    scale = batches / timed
    return batches, timed, query_s * scale, (query_s + write_s) * scale


async def _run_backend(
    backend: str, db: Database, regional: SqlRegionalStore, sizes: list[int], budget_s: float
) -> list[Result]:
    await migrate(db)
    await regional.create_schema()
    store = PrimaryStore(db, outbox=False)
    await _insert_background(db)
    results: list[Result] = []
    for count in sizes:
        await _insert_followers(db, count)
        for schema in ("after", "before"):
            await _set_schema(db, schema)
            plan = await _batch_plan(db, schema)
            # Time one batch first: if walking them all would blow the
            # budget, sample instead of waiting minutes for the quadratic.
            _, _, projected_s, _ = await _fanout(store, regional, count, sample=1)
            sample = None if projected_s < budget_s else 10
            batches, timed, query_s, fanout_s = await _fanout(store, regional, count, sample)
            result = Result(
                backend,
                schema,
                count,
                batches,
                timed,
                round(query_s, 4),
                round(fanout_s, 4),
                round(query_s / batches * 1000, 3),
                plan,
            )
            results.append(result)
            print(
                f"{backend:8} {schema:6} {count:>7} followers: {batches:>3} batches"
                f"{'' if timed >= batches else f' ({timed} sampled)'}"
                f"  queries {query_s:8.3f} s ({result.ms_per_batch_query:7.2f} ms/batch)"
                f"  fan-out {fanout_s:8.3f} s\n    plan: {plan}",
                flush=True,
            )
        await _set_schema(db, "after")
    return results


async def _sqlite(directory: Path, sizes: list[int], budget_s: float) -> list[Result]:
    db = SqliteDatabase(directory / "primary.db", readers=1)
    regional_db = SqliteDatabase(directory / "region.db", readers=1)
    await db.open()
    await regional_db.open()
    try:
        return await _run_backend(
            "sqlite", db, SqlRegionalStore("local", regional_db), sizes, budget_s
        )
    finally:
        await db.close()
        await regional_db.close()


async def _postgres(
    cluster: devcluster.ClusterState, sizes: list[int], budget_s: float
) -> list[Result]:
    db = PostgresDatabase(cluster.database_url, min_size=1, max_size=2)
    await db.open()
    # Timelines in the same database: the bench is about the follower
    # query, not about where timelines live.
    regional_db = PostgresDatabase(cluster.database_url, min_size=1, max_size=2)
    await regional_db.open()
    try:
        return await _run_backend(
            "postgres", db, SqlRegionalStore("local", regional_db), sizes, budget_s
        )
    finally:
        await db.close()
        await regional_db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument(
        "--budget-s", type=float, default=30.0, help="sample a run projected to take longer"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: list[Result] = []
    scratch = Path(tempfile.mkdtemp(prefix="gramstack-fanout-bench-"))
    scratch.chmod(0o755)  # the PostgreSQL servers run as their own user
    try:
        results += asyncio.run(_sqlite(scratch, sizes, args.budget_s))
        if not args.sqlite_only:
            cluster = devcluster.up(scratch / "pg", followers=0)
            try:
                results += asyncio.run(_postgres(cluster, sizes, args.budget_s))
            finally:
                devcluster.down(Path(cluster.directory))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")


if __name__ == "__main__":
    main()
