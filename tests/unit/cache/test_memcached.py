"""What only the memcached lease protocol has beyond the contract tests:
leases that can be switched off, waiting for a lease holder that never
stores, and invalidations the invalidation service needs acknowledged."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping, Sequence

import pytest

from gramstack.cache.memcached import MemcachedLeaseCache
from gramstack.cache.memcached_pool import MemcachedPool
from gramstack.cache.meta_client import MetaClient
from gramstack.runtime.devcluster.memcached import (
    MemcachedProcess,
    start_memcached,
    stop_memcached,
)


def _key() -> str:
    return "v1:media:" + uuid.uuid4().hex


async def test_without_leases_a_cold_key_is_loaded_by_many(
    memcached_server: MemcachedProcess,
) -> None:
    cache = MemcachedLeaseCache(MemcachedPool([memcached_server.endpoint]), leases=False)
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


async def test_a_lease_holder_that_never_stores_is_waited_for_then_bypassed(
    memcached_server: MemcachedProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process won the lease and died: callers poll with backoff
    until the lease wait is spent, then load for themselves without storing
    (the lease is still the other holder's)."""
    cache = MemcachedLeaseCache(
        MemcachedPool([memcached_server.endpoint]), lease_s=30, lease_wait_s=0.3
    )
    single, page = _key(), [_key(), _key()]
    holder = MetaClient(*memcached_server.endpoint)
    for key in [single, *page]:
        assert (await holder.mg(key, "v", "N30")).has("W")
    polls = 0
    original = MetaClient.execute

    async def counting(self: MetaClient, commands: Sequence[bytes], **kw: bool) -> object:
        nonlocal polls
        polls += 1
        return await original(self, commands, **kw)

    async def load_many(keys: Sequence[str]) -> Mapping[str, bytes]:
        return {k: b"page" for k in keys}

    async def load() -> bytes | None:
        return b"single"

    monkeypatch.setattr(MetaClient, "execute", counting)
    started = time.monotonic()
    assert await cache.get_or_load(single, load, 60) == b"single"
    assert await cache.get_many_or_load(page, load_many, 60) == dict.fromkeys(page, b"page")
    elapsed = time.monotonic() - started
    monkeypatch.undo()
    assert 0.5 <= elapsed < 2.0  # 0.3 s each, not the 30 s lease
    # Backoff: 2 ms doubling to 50 ms is about a dozen polls in 0.3 s, not hundreds.
    assert 10 <= polls <= 40
    for key in [single, *page]:
        reply = await holder.mg(key, "v", "f")
        assert reply.value == b"" and reply.flags.get("f") == "0"  # still the placeholder
    await holder.close()
    await cache.close()


async def test_an_acknowledged_invalidation_marks_every_copy_stale(
    memcached_server: MemcachedProcess,
) -> None:
    cache = MemcachedLeaseCache(MemcachedPool([memcached_server.endpoint]), lease_s=30)
    keys = [_key() for _ in range(5)]
    for key in keys:
        await cache.set(key, b"old", 600)
    await cache.invalidate_acknowledged([*keys, _key()])  # an absent key is fine too
    direct = MetaClient(*memcached_server.endpoint)
    for key in keys:
        reply = await direct.mg(key, "v", "t")
        assert reply.value == b"old" and reply.has("X")  # stale, kept for one refill
        assert 0 < int(reply.flags["t"]) <= 30
    assert await cache.get(keys[0]) is None  # a plain read never sees a stale value
    await direct.close()
    await cache.close()


async def test_write_marks_only_grow_however_writers_race(
    memcached_server: MemcachedProcess,
) -> None:
    cache = MemcachedLeaseCache(MemcachedPool([memcached_server.endpoint]))
    try:
        marked, other = _key(), _key()
        assert await cache.write_mark([marked, other]) == 0
        # Many writers of one key at once, told their positions in any order.
        await asyncio.gather(*(cache.mark_written([marked], lsn, 60) for lsn in range(100, 0, -7)))
        assert await cache.write_mark([marked]) == 100
        await cache.mark_written([marked, other], 50, 60, acknowledged=True)  # older: kept 100
        assert await cache.write_mark([marked]) == 100
        assert await cache.write_mark([other]) == 50
        assert await cache.write_mark([other, marked]) == 100
    finally:
        await cache.close()


async def test_a_write_mark_nobody_can_read_sends_the_fill_to_the_leader(
    memcached_server: MemcachedProcess,
) -> None:
    doomed = start_memcached()
    cache = MemcachedLeaseCache(MemcachedPool([doomed.endpoint], retry_down_s=60))
    try:
        key = _key()
        await cache.mark_written([key], 10, 60)
        stop_memcached(doomed, hard=True)
        # The server went away mid-flight: the read of the mark fails, and
        # what comes back is a position no follower reaches.
        assert await cache.write_mark([key]) >= 1 << 62
    finally:
        await cache.close()
