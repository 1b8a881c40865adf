from __future__ import annotations

import asyncio

from gramstack.cache.memory import InProcessLeaseCache


async def _value(value: bytes) -> bytes | None:
    return value


async def test_memory_is_bounded_and_the_least_recently_used_go_first() -> None:
    cache = InProcessLeaseCache(max_bytes=1000)
    for i in range(50):
        await cache.get_or_load(f"k{i:02}", lambda: _value(b"x" * 90), 60)
        if i >= 2:
            await cache.get("k00")  # keep one key hot
    assert len(cache) <= 1000 // 93
    assert await cache.get("k00") is not None
    assert await cache.get("k01") is None
    assert await cache.get("k49") is not None


async def test_a_value_larger_than_the_bound_is_served_but_not_kept() -> None:
    cache = InProcessLeaseCache(max_bytes=10)
    assert await cache.get_or_load("big", lambda: _value(b"y" * 100), 60) == b"y" * 100
    assert len(cache) == 0


async def test_without_leases_every_concurrent_miss_loads() -> None:
    cache = InProcessLeaseCache(1 << 20, leases=False)
    calls = 0

    async def load() -> bytes | None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return b"v"

    await asyncio.gather(*(cache.get_or_load("k", load, 60) for _ in range(50)))
    assert calls == 50


async def test_a_cancelled_loader_hands_the_lease_to_a_waiter() -> None:
    cache = InProcessLeaseCache(1 << 20)
    started = asyncio.Event()

    async def hang() -> bytes | None:
        started.set()
        await asyncio.sleep(10)
        return b"never"

    first = asyncio.create_task(cache.get_or_load("k", hang, 60))
    await started.wait()
    waiter = asyncio.create_task(cache.get_or_load("k", lambda: _value(b"mine"), 60))
    await asyncio.sleep(0.01)
    first.cancel()
    assert await waiter == b"mine"


async def test_clear_forgets_everything() -> None:
    cache = InProcessLeaseCache(1 << 20)
    await cache.set("a", b"1", 60)
    cache.clear()
    assert await cache.get("a") is None
