from __future__ import annotations

import asyncio
from collections.abc import Sequence

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


async def test_eviction_gives_an_entry_read_since_its_last_pass_a_second_chance() -> None:
    # Three entries fit (one-byte key + nine-byte value each).
    cache = InProcessLeaseCache(max_bytes=30)
    for key in "abc":
        await cache.set(key, b"v" * 9, 60)
    assert await cache.get("a") is not None  # read: survives the next pass
    await cache.set("d", b"v" * 9, 60)
    assert await cache.get("b") is None  # the oldest entry not read since
    await cache.set("e", b"v" * 9, 60)
    assert await cache.get("c") is None
    assert len(cache) == 3
    await cache.set("f", b"v" * 9, 60)
    assert await cache.get("d") is None
    await cache.set("g", b"v" * 9, 60)
    # "a" was not read again after its second chance: now it goes.
    assert await cache.get("a") is None
    assert [await cache.get(k) is not None for k in "efg"] == [True, True, True]


async def test_a_repeated_key_in_a_multi_get_is_loaded_once() -> None:
    cache = InProcessLeaseCache(1 << 20)
    asked: list[list[str]] = []

    async def load_many(wanted: Sequence[str]) -> dict[str, bytes]:
        asked.append(list(wanted))
        return {k: k.encode() for k in wanted if k != "gone"}

    await cache.set("hit", b"h", 60)
    found = await cache.get_many_or_load(["x", "hit", "x", "gone", "hit", "y"], load_many, 60)
    assert asked == [["x", "gone", "y"]]
    assert found == {"x": b"x", "hit": b"h", "y": b"y"}
    found = await cache.get_many_or_load(["y", "x", "gone"], load_many, 60)
    assert asked[1:] == [["gone"]]  # "no such object" is not cached
    assert found == {"x": b"x", "y": b"y"}


async def test_an_expired_entry_is_reloaded_by_a_multi_get() -> None:
    cache = InProcessLeaseCache(1 << 20)
    await cache.set("k", b"old", 0)  # expires at once
    await asyncio.sleep(0.001)

    async def load_many(wanted: Sequence[str]) -> dict[str, bytes]:
        return {k: b"new" for k in wanted}

    assert await cache.get_many_or_load(["k"], load_many, 60) == {"k": b"new"}
    assert await cache.get("k") == b"new"
