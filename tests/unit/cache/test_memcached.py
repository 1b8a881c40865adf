"""What only the memcached backend has: several servers, a gutter pool, and
servers that die."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Mapping, Sequence

import pytest

from gramstack.cache.memcached import MemcachedLeaseCache
from gramstack.cache.meta_client import MetaClient, Reply
from gramstack.runtime.devcluster.memcached import (
    MemcachedProcess,
    start_pool,
    stop_memcached,
)


@pytest.fixture
def pool() -> Iterator[list[MemcachedProcess]]:
    servers = start_pool(3)
    yield servers
    for server in servers:
        stop_memcached(server)


def _keys(n: int) -> list[str]:
    return [f"v1:media:{uuid.uuid4().int % 10**12}" for _ in range(n)]


def _loader(calls: list[list[str]]):  # type: ignore[no-untyped-def]
    async def load(keys: Sequence[str]) -> Mapping[str, bytes]:
        calls.append(list(keys))
        await asyncio.sleep(0.005)
        return {k: k.encode() for k in keys}

    return load


async def test_a_page_costs_one_round_trip_per_server(
    pool: list[MemcachedProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = MemcachedLeaseCache([s.address for s in pool])
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
    assert len(trips) <= len(pool) and sum(trips) == 20
    await cache.close()


async def test_without_leases_a_cold_key_is_loaded_by_many(pool: list[MemcachedProcess]) -> None:
    cache = MemcachedLeaseCache([pool[0].address], leases=False)
    calls = 0

    async def load() -> bytes | None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)
        return b"v"

    key = "cold:" + uuid.uuid4().hex
    await asyncio.gather(*(cache.get_or_load(key, load, 60) for _ in range(50)))
    assert calls > 10
    await cache.close()


async def test_a_dead_server_without_gutter_sends_its_keys_to_the_store(
    pool: list[MemcachedProcess],
) -> None:
    cache = MemcachedLeaseCache([s.address for s in pool], retry_down_s=60)
    keys = _keys(60)
    calls: list[list[str]] = []
    await cache.get_many_or_load(keys, _loader(calls), 60)
    stop_memcached(pool[1], hard=True)
    for _ in range(3):
        page = await cache.get_many_or_load(keys, _loader(calls), 60)
        assert page == {k: k.encode() for k in keys}
        singles = await asyncio.gather(*(cache.get_or_load(k, _one(k), 60) for k in keys))
        assert singles == [k.encode() for k in keys]
    await cache.delete(keys)  # no error either
    await cache.ping()  # two of three still answer
    await cache.close()


def _one(key: str):  # type: ignore[no-untyped-def]
    async def load() -> bytes | None:
        return key.encode()

    return load


async def test_a_dead_server_fails_over_to_the_gutter_with_leases(
    pool: list[MemcachedProcess],
) -> None:
    main, gutter = pool[:2], pool[2]
    cache = MemcachedLeaseCache(
        [s.address for s in main], [gutter.address], retry_down_s=60, gutter_ttl_s=5
    )
    stop_memcached(main[0], hard=True)
    key = next(k for k in _keys(50) if cache._ring.node_for(k) == main[0].address)
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


async def test_killing_a_server_mid_run_never_fails_a_read(pool: list[MemcachedProcess]) -> None:
    cache = MemcachedLeaseCache([s.address for s in pool], retry_down_s=0.2, timeout_s=0.3)
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
    stop_memcached(pool[0], hard=True)  # mid-run, as a crash would
    await asyncio.sleep(0.8)
    stop.set()
    await asyncio.gather(*readers)
    assert errors == [] and wrong == 0
    await cache.close()


async def test_a_server_that_comes_back_is_flushed_before_use(
    pool: list[MemcachedProcess],
) -> None:
    from gramstack.runtime.devcluster.memcached import start_memcached

    cache = MemcachedLeaseCache([pool[0].address], retry_down_s=0.1)
    key = _keys(1)[0]
    await cache.get_or_load(key, _one("old"), 60)
    # The server is unreachable for us (we think) while a delete is lost...
    cache._mark_down(pool[0].address, OSError("partition"))
    await cache.delete([key])
    await asyncio.sleep(0.15)
    # ...so when it answers again it must not serve what it kept.
    assert await cache.get_or_load(key, _one("new"), 60) == b"new"
    await cache.close()
    assert start_memcached  # the module's start function is what the pool fixture uses
