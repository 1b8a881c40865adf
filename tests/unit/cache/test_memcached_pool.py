"""What the server pool does: spread keys over several servers, one round
trip per server, a gutter pool, and servers that die and come back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from gramstack.cache.memcached import MemcachedLeaseCache
from gramstack.cache.memcached_pool import MemcachedPool, ServerBatches
from gramstack.cache.meta_client import MetaClient, Reply, md, ms
from gramstack.cache.ports import CacheUnavailable
from gramstack.runtime.devcluster.memcached import MemcachedProcess, stop_memcached


def _keys(n: int) -> list[str]:
    return [f"v1:media:{uuid.uuid4().int % 10**12}" for _ in range(n)]


def _loader(calls: list[list[str]]):  # type: ignore[no-untyped-def]
    async def load(keys: Sequence[str]) -> Mapping[str, bytes]:
        calls.append(list(keys))
        await asyncio.sleep(0.005)
        return {k: k.encode() for k in keys}

    return load


def _one(key: str):  # type: ignore[no-untyped-def]
    async def load() -> bytes | None:
        return key.encode()

    return load


def _cache(servers: Sequence[MemcachedProcess], **pool_options: Any) -> MemcachedLeaseCache:
    return MemcachedLeaseCache(MemcachedPool([s.endpoint for s in servers], **pool_options))


async def test_keys_are_grouped_by_the_server_that_owns_them(
    three_servers: list[MemcachedProcess],
) -> None:
    pool = MemcachedPool([s.endpoint for s in three_servers])
    keys = _keys(60)
    groups, stranded = await pool.read_groups(keys)
    assert stranded == []
    assert {target.client.address for target, _ in groups} == {s.address for s in three_servers}
    for target, batch in groups:
        assert all(pool.node_for(k) == target.client.address for k in batch)
    assert sorted(k for _, batch in groups for k in batch) == sorted(keys)
    await pool.close()


async def test_batches_send_each_server_its_commands_in_one_round_trip(
    three_servers: list[MemcachedProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = MemcachedPool([s.endpoint for s in three_servers])
    keys = _keys(30)
    writes = ServerBatches()
    for key in keys:
        for client in await pool.write_targets(key):
            writes.add(client, ms(key, b"x", "T60", "q"))
    trips: list[int] = []
    original = MetaClient.execute

    async def counting(self: MetaClient, commands: Sequence[bytes], **kw: bool) -> list[Reply]:
        trips.append(len(commands))
        return await original(self, commands, **kw)

    monkeypatch.setattr(MetaClient, "execute", counting)
    await pool.send_quiet(writes)
    assert len(trips) == 3 and sum(trips) == 30
    monkeypatch.undo()
    for key in keys:
        client = MetaClient(
            *next(s.endpoint for s in three_servers if s.address == pool.node_for(key))
        )
        assert (await client.mg(key, "v")).value == b"x"
        await client.close()
    await pool.close()


async def test_acknowledged_deletes_fail_while_an_owner_is_down(
    three_servers: list[MemcachedProcess],
) -> None:
    main, gutter = three_servers[:2], three_servers[2]
    pool = MemcachedPool([s.endpoint for s in main], [gutter.endpoint], timeout_s=0.3)
    key = _keys(1)[0]

    def deletes() -> ServerBatches:
        writes = ServerBatches()
        for client in pool.every_owner(key):
            writes.add(client, md(key, "q"))
        return writes

    assert {c.address for c in pool.every_owner(key)} == {pool.node_for(key), gutter.address}
    await pool.send_acknowledged(deletes())  # NF from both is an acknowledgement
    stop_memcached(gutter, hard=True)
    with pytest.raises(CacheUnavailable, match=gutter.address):
        await pool.send_acknowledged(deletes())
    # The server that did not answer is marked down: plain deletes skip it.
    assert [c.address for c in await pool.write_targets(key)] == [pool.node_for(key)]
    await pool.close()


async def test_a_page_costs_one_round_trip_per_server(
    three_servers: list[MemcachedProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = _cache(three_servers)
    keys = _keys(20)
    await cache.get_many_or_load(keys, _loader([]), 60)
    trips: list[int] = []
    original = MetaClient.execute

    async def counting(self: MetaClient, commands: Sequence[bytes], **kw: bool) -> list[Reply]:
        trips.append(len(commands))
        return await original(self, commands, **kw)

    monkeypatch.setattr(MetaClient, "execute", counting)
    page = await cache.get_many_or_load(keys, _loader([]), 60)
    assert page == {k: k.encode() for k in keys}
    assert len(trips) <= len(three_servers) and sum(trips) == 20
    await cache.close()


async def test_a_dead_server_without_gutter_sends_its_keys_to_the_store(
    three_servers: list[MemcachedProcess],
) -> None:
    cache = _cache(three_servers, retry_down_s=60)
    keys = _keys(60)
    calls: list[list[str]] = []
    await cache.get_many_or_load(keys, _loader(calls), 60)
    stop_memcached(three_servers[1], hard=True)
    for _ in range(3):
        page = await cache.get_many_or_load(keys, _loader(calls), 60)
        assert page == {k: k.encode() for k in keys}
        singles = await asyncio.gather(*(cache.get_or_load(k, _one(k), 60) for k in keys))
        assert singles == [k.encode() for k in keys]
    await cache.delete(keys)  # no error either
    await cache.ping()  # two of three still answer
    await cache.close()


async def test_a_dead_server_fails_over_to_the_gutter_with_leases(
    three_servers: list[MemcachedProcess],
) -> None:
    main, gutter = three_servers[:2], three_servers[2]
    pool = MemcachedPool(
        [s.endpoint for s in main], [gutter.endpoint], retry_down_s=60, gutter_ttl_s=5
    )
    cache = MemcachedLeaseCache(pool)
    stop_memcached(main[0], hard=True)
    key = next(k for k in _keys(50) if pool.node_for(k) == main[0].address)
    calls = 0

    async def load() -> bytes | None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return b"from-store"

    results = await asyncio.gather(*(cache.get_or_load(key, load, 600) for _ in range(200)))
    assert results == [b"from-store"] * 200
    assert calls == 1  # the gutter takes the leases too
    direct = MetaClient("127.0.0.1", gutter.port)
    reply = await direct.mg(key, "v", "t")
    assert reply.value == b"from-store" and 0 < int(reply.flags["t"]) <= 5
    await cache.delete([key])
    assert (await direct.mg(key, "v")).code == "EN"
    await direct.close()
    await cache.close()


async def test_killing_a_server_mid_run_never_fails_a_read(
    three_servers: list[MemcachedProcess],
) -> None:
    cache = _cache(three_servers, retry_down_s=0.2, timeout_s=0.3)
    keys = _keys(200)
    errors: list[BaseException] = []
    wrong = 0
    stop = asyncio.Event()

    async def reader() -> None:
        nonlocal wrong
        while not stop.is_set():
            for key in keys[::7]:
                try:
                    if await cache.get_or_load(key, _one(key), 60) != key.encode():
                        wrong += 1
                except Exception as exc:
                    errors.append(exc)
            try:
                page = await cache.get_many_or_load(keys[:20], _loader([]), 60)
                wrong += sum(1 for k in keys[:20] if page.get(k) != k.encode())
            except Exception as exc:
                errors.append(exc)

    readers = [asyncio.create_task(reader()) for _ in range(20)]
    await asyncio.sleep(0.3)
    stop_memcached(three_servers[0], hard=True)  # mid-run, as a crash would
    await asyncio.sleep(0.8)
    stop.set()
    await asyncio.gather(*readers)
    assert errors == [] and wrong == 0
    await cache.close()


async def test_a_server_that_comes_back_is_flushed_before_use(
    three_servers: list[MemcachedProcess],
) -> None:
    pool = MemcachedPool([three_servers[0].endpoint], retry_down_s=0.1)
    cache = MemcachedLeaseCache(pool)
    key = _keys(1)[0]
    await cache.get_or_load(key, _one("old"), 60)
    # The server is unreachable for us (we think) while a delete is lost...
    pool.mark_down(three_servers[0].address, OSError("partition"))
    await cache.delete([key])
    assert await pool.read_target(key) is None  # no gutter: reads go to the store
    await asyncio.sleep(0.15)
    # ...so when it answers again it must not serve what it kept.
    assert await cache.get_or_load(key, _one("new"), 60) == b"new"
    await cache.close()
