"""No thundering herd: however many readers ask for a cold (or just
invalidated, or just written) media item at once, the database sees one
query for it."""

from __future__ import annotations

import asyncio

import pytest

from gramstack.cache import keys
from gramstack.domain import likes
from gramstack.domain.media import get_media
from gramstack.runtime.devcluster.memcached import MemcachedProcess
from gramstack.storage.ports import Database
from tests.integration.cache.conftest import (
    CountingDatabase,
    make_backends,
    make_cache,
    seed_media,
    seed_user,
)

READERS = 500


@pytest.mark.parametrize("cache_kind", ["memcached", "memory"])
async def test_500_concurrent_reads_of_a_cold_media_item_cost_one_query(
    database: Database, memcached_pair: list[MemcachedProcess], cache_kind: str
) -> None:
    db = CountingDatabase(database)
    # Leases on healthy servers are what this counts. On a loaded machine a
    # reply can take longer than the production 0.5 s client timeout; the
    # pool then routes around the server and every reader loads from the
    # store (right for a stalled server, tested elsewhere, but not this).
    patient = {"pool_timeout_s": 10.0, "lease_wait_s": 10.0} if cache_kind == "memcached" else {}
    cache = make_cache(cache_kind, memcached_pair, **patient)
    b = await make_backends(db, cache)
    owner, liker = await seed_user(b, "owner"), await seed_user(b, "liker")
    cold, other = await seed_media(b, owner), await seed_media(b, owner)
    await get_media(b, other, None)  # the owner's record is now cached

    async def herd() -> list[int]:
        db.queries.clear()
        views = await asyncio.gather(*(get_media(b, cold, None) for _ in range(READERS)))
        assert {v.media.id for v in views} == {cold}
        assert len(db.reads_of("media")) == 1, db.queries
        assert len(db.reads_of("users")) == 0
        return [v.media.like_count for v in views]

    assert set(await herd()) == {0}

    # Stale-while-revalidate: one reader refills, the others get the old value.
    await b.cache.invalidate([keys.media_key(cold)])
    assert set(await herd()) == {0}

    # A write: its own eviction is a delete, so nobody is served the old count.
    await likes.like(b, liker, cold)
    assert set(await herd()) == {1}
    await b.cache.close()
