"""IDs stay unique across processes that share one primary store: each
process leases its own shard, so their (ms, shard) spaces never overlap."""

from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path

from gramstack.domain.ids import MAX_SHARD, IdGenerator, id_parts
from gramstack.storage.schema import migrate
from gramstack.storage.sqlite import SqliteDatabase
from gramstack.storage.store import PrimaryStore

PER_PROCESS = 20_000


def _mint(path: str, owner: str, out: multiprocessing.Queue[list[int]]) -> None:
    async def run() -> list[int]:
        db = SqliteDatabase(Path(path), readers=1)
        await db.open()
        store = PrimaryStore(db)
        shard = await store.leases.lease_id_shard(owner, 0, 10**12, MAX_SHARD + 1)
        gen = IdGenerator(shard)
        ids = [gen.next_id() for _ in range(PER_PROCESS)]
        await db.close()
        return ids

    out.put(asyncio.run(run()))


async def test_ids_are_unique_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "ids.db"
    db = SqliteDatabase(path, readers=1)
    await db.open()
    await migrate(db)
    await db.close()

    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[list[int]] = ctx.Queue()
    procs = [ctx.Process(target=_mint, args=(str(path), f"p{i}", out)) for i in range(4)]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    every = [ident for ids in results for ident in ids]
    assert len(every) == 4 * PER_PROCESS
    assert len(set(every)) == len(every)
    assert len({id_parts(ids[0])[1] for ids in results}) == 4  # four distinct shards


async def test_a_live_lease_is_not_handed_out_twice_but_an_expired_one_is(
    tmp_path: Path,
) -> None:
    db = SqliteDatabase(tmp_path / "lease.db", readers=1)
    await db.open()
    await migrate(db)
    store = PrimaryStore(db)
    first = await store.leases.lease_id_shard("a", now=1000, ttl_ms=500, shards=8)
    second = await store.leases.lease_id_shard("b", now=1100, ttl_ms=500, shards=8)
    assert first != second
    assert await store.leases.renew_id_shard(first, "a", now=1200, ttl_ms=500)
    assert not await store.leases.renew_id_shard(first, "b", now=1200, ttl_ms=500)
    # "a" stops renewing; after expiry its shard may go to "c".
    third = await store.leases.lease_id_shard("c", now=5000, ttl_ms=500, shards=8)
    assert third == first
    assert not await store.leases.renew_id_shard(first, "a", now=5100, ttl_ms=500)
    await db.close()
