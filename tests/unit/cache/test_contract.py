"""The lease cache contract, run against every backend (``cache`` fixture):
the in-process cache and memcached behave the same to their callers."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Mapping, Sequence

import pytest

from gramstack.cache.memcached import MemcachedLeaseCache
from gramstack.cache.memory import InProcessLeaseCache
from gramstack.cache.null import NullLeaseCache
from gramstack.cache.ports import LeaseCache


def _key(name: str = "k") -> str:
    return f"test:{name}:{uuid.uuid4().hex}"


class _CountingLoader:
    def __init__(self, value: bytes | None = b"v", delay: float = 0.02) -> None:
        self.value = value
        self.delay = delay
        self.calls = 0

    async def __call__(self) -> bytes | None:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return self.value


@pytest.mark.parametrize("adapter", [InProcessLeaseCache, MemcachedLeaseCache, NullLeaseCache])
def test_adapter_matches_port(adapter: type) -> None:
    for name, member in inspect.getmembers(LeaseCache, inspect.isfunction):
        if name.startswith("_"):
            continue
        mine = inspect.signature(getattr(adapter, name))
        theirs = inspect.signature(member)
        assert list(mine.parameters) == list(theirs.parameters), name
        assert inspect.iscoroutinefunction(getattr(adapter, name)), name


async def test_one_loader_per_cold_key_under_500_callers(cache: LeaseCache) -> None:
    key, loader = _key(), _CountingLoader(b"cold", delay=0.05)
    results = await asyncio.gather(*(cache.get_or_load(key, loader, 60) for _ in range(500)))
    assert results == [b"cold"] * 500
    assert loader.calls == 1


async def test_a_hit_does_not_load(cache: LeaseCache) -> None:
    key, loader = _key(), _CountingLoader(b"x")
    assert await cache.get_or_load(key, loader, 60) == b"x"
    assert await cache.get_or_load(key, loader, 60) == b"x"
    assert await cache.get(key) == b"x"
    assert loader.calls == 1


async def test_stale_value_is_served_while_one_caller_refills(cache: LeaseCache) -> None:
    key = _key()
    await cache.get_or_load(key, _CountingLoader(b"old"), 60)
    await cache.invalidate([key])
    refill = _CountingLoader(b"new", delay=0.2)
    first = asyncio.create_task(cache.get_or_load(key, refill, 60))
    await asyncio.sleep(0.05)  # the first caller holds the lease now
    others = await asyncio.gather(*(cache.get_or_load(key, refill, 60) for _ in range(50)))
    assert others == [b"old"] * 50  # served stale at once, not queued behind the refill
    assert await first == b"new"
    assert refill.calls == 1
    assert await cache.get_or_load(key, refill, 60) == b"new"
    assert refill.calls == 1


async def test_after_delete_every_reader_gets_a_value_loaded_after_it(cache: LeaseCache) -> None:
    key = _key()
    await cache.get_or_load(key, _CountingLoader(b"old"), 60)
    await cache.delete([key])
    loader = _CountingLoader(b"new", delay=0.05)
    results = await asyncio.gather(*(cache.get_or_load(key, loader, 60) for _ in range(200)))
    assert results == [b"new"] * 200
    assert loader.calls == 1


async def test_a_refill_that_raced_an_invalidation_is_not_kept(cache: LeaseCache) -> None:
    key = _key()
    slow = _CountingLoader(b"before", delay=0.2)
    loading = asyncio.create_task(cache.get_or_load(key, slow, 60))
    await asyncio.sleep(0.05)
    await cache.delete([key])  # the row changed while it was being read
    assert await loading == b"before"
    fresh = _CountingLoader(b"after")
    assert await cache.get_or_load(key, fresh, 60) == b"after"
    assert fresh.calls == 1


async def test_a_second_invalidation_during_a_refill_wins(cache: LeaseCache) -> None:
    key = _key()
    await cache.get_or_load(key, _CountingLoader(b"v1"), 60)
    await cache.invalidate([key])
    slow = _CountingLoader(b"v2", delay=0.2)
    refilling = asyncio.create_task(cache.get_or_load(key, slow, 60))
    await asyncio.sleep(0.05)
    await cache.invalidate([key])  # v3 committed while v2 was being loaded
    assert await refilling == b"v2"
    latest = _CountingLoader(b"v3")
    assert await cache.get_or_load(key, latest, 60) == b"v3"


async def test_values_expire_after_their_ttl(cache: LeaseCache) -> None:
    key = _key()
    loader = _CountingLoader(b"t", delay=0)
    await cache.get_or_load(key, loader, 1)
    # memcached counts whole seconds
    await asyncio.sleep(1.05 if isinstance(cache, InProcessLeaseCache) else 2.05)
    await cache.get_or_load(key, loader, 1)
    assert loader.calls == 2


async def test_none_is_not_cached(cache: LeaseCache) -> None:
    key, missing = _key(), _CountingLoader(None)
    assert await cache.get_or_load(key, missing, 60) is None
    assert await cache.get_or_load(key, missing, 60) is None
    assert missing.calls == 2
    assert await cache.get(key) is None


async def test_a_loader_error_reaches_the_caller_and_nothing_is_cached(cache: LeaseCache) -> None:
    key = _key()

    async def broken() -> bytes | None:
        await asyncio.sleep(0.01)
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError, match="database down"):
        await cache.get_or_load(key, broken, 60)
    good = _CountingLoader(b"ok")
    results = await asyncio.gather(*(cache.get_or_load(key, good, 60) for _ in range(20)))
    assert results == [b"ok"] * 20
    assert good.calls == 1


async def test_concurrent_callers_of_a_failing_load_never_get_a_value(cache: LeaseCache) -> None:
    key = _key()
    calls = 0

    async def broken() -> bytes | None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)
        raise RuntimeError("database down")

    results = await asyncio.gather(
        *(cache.get_or_load(key, broken, 60) for _ in range(20)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    assert calls <= 20


class _ManyLoader:
    def __init__(
        self,
        values: Mapping[str, bytes],
        delay: float = 0.02,
        gate: asyncio.Event | None = None,
    ) -> None:
        self.values = values
        self.delay = delay
        self.gate = gate  # when given, loads finish only once it is set
        self.asked: list[list[str]] = []

    async def __call__(self, keys: Sequence[str]) -> Mapping[str, bytes]:
        self.asked.append(list(keys))
        await asyncio.sleep(self.delay)
        if self.gate is not None:
            await self.gate.wait()
        return {k: self.values[k] for k in keys if k in self.values}


async def test_a_page_is_loaded_once_per_key_under_concurrency(cache: LeaseCache) -> None:
    keys = [_key(f"p{i}") for i in range(20)]
    values = {k: k.encode() for k in keys}
    loader = _ManyLoader(values, delay=0.05)
    pages = await asyncio.gather(*(cache.get_many_or_load(keys, loader, 60) for _ in range(100)))
    assert all(page == values for page in pages)
    loaded = [k for batch in loader.asked for k in batch]
    assert sorted(loaded) == sorted(keys)  # each key loaded exactly once


async def test_a_page_loads_only_its_misses_and_skips_missing_objects(cache: LeaseCache) -> None:
    keys = [_key(f"m{i}") for i in range(6)]
    values = {k: b"x" for k in keys[:4]}  # the last two do not exist
    await cache.get_or_load(keys[0], _CountingLoader(b"x"), 60)
    loader = _ManyLoader(values)
    assert await cache.get_many_or_load(keys, loader, 60) == values
    assert sorted(loader.asked[0]) == sorted(keys[1:])
    again = _ManyLoader(values)
    assert await cache.get_many_or_load([*keys, keys[1]], again, 60) == values
    assert again.asked == [keys[4:]]  # misses are asked again: None is not cached


async def test_a_page_sees_stale_values_while_they_refill(cache: LeaseCache) -> None:
    keys = [_key(f"s{i}") for i in range(5)]
    await cache.get_many_or_load(keys, _ManyLoader({k: b"old" for k in keys}), 60)
    await cache.invalidate(keys)
    # The refill holds its leases until the second page has been read: a
    # fixed sleep assumed the first caller had won them within 50 ms, which
    # a loaded machine does not promise.
    gate = asyncio.Event()
    refill = _ManyLoader({k: b"new" for k in keys}, gate=gate)
    first = asyncio.create_task(cache.get_many_or_load(keys, refill, 60))
    async with asyncio.timeout(10):
        while not refill.asked:  # the first caller won the leases and is loading
            await asyncio.sleep(0.001)
    assert await cache.get_many_or_load(keys, refill, 60) == {k: b"old" for k in keys}
    gate.set()
    assert await first == {k: b"new" for k in keys}
    assert len(refill.asked) == 1


async def test_set_and_get(cache: LeaseCache) -> None:
    key = _key()
    assert await cache.get(key) is None
    await cache.set(key, b"mark", 60)
    assert await cache.get(key) == b"mark"
    await cache.delete([key])
    assert await cache.get(key) is None
    await cache.ping()


async def test_values_are_binary_safe(cache: LeaseCache) -> None:
    key, value = _key(), bytes(range(256)) * 10 + b"\r\nEND\r\n"
    assert await cache.get_or_load(key, _CountingLoader(value), 60) == value
    assert await cache.get(key) == value
    assert await cache.get_or_load(key, _CountingLoader(b"other"), 60) == value
