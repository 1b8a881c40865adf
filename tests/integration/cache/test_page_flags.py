"""A page's owners and per-viewer flags (``liked_by_me``, and for the feed
whether each author is still followed) cost one cache round trip, at most
one store query per kind when cold, and none when warm: "no" is cached like
"yes". A like or a follow changes the flag at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from gramstack.cache.ports import LeaseCache, ManyLoader
from gramstack.domain import hydration, likes
from gramstack.domain.hydration import media_views_and_follows
from gramstack.runtime.devcluster.memcached import MemcachedProcess
from gramstack.storage.ports import Database
from tests.integration.cache.conftest import (
    CountingDatabase,
    make_backends,
    make_cache,
    seed_media,
    seed_user,
)


class RoundTripCounter:
    """The real cache, counting the page reads made through it."""

    def __init__(self, inner: LeaseCache) -> None:
        self.inner = inner
        self.multi_gets = 0

    async def get_many_or_load(
        self, keys: Sequence[str], loader: ManyLoader, ttl_s: int
    ) -> dict[str, bytes]:
        self.multi_gets += 1
        return await self.inner.get_many_or_load(keys, loader, ttl_s)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("cache_kind", ["memcached", "memory"])
async def test_a_page_of_flags_is_one_multi_get_and_negatives_are_cached(
    database: Database, memcached_pair: list[MemcachedProcess], cache_kind: str
) -> None:
    db = CountingDatabase(database)
    cache = RoundTripCounter(make_cache(cache_kind, memcached_pair))
    # One process: the writer's own evictions are all the invalidation needed.
    b = await make_backends(db, cache, synced=False)  # type: ignore[arg-type]
    viewer, followed, stranger = [await seed_user(b, n) for n in ("viewer", "followed", "x")]
    page = [await seed_media(b, owner) for owner in (followed, stranger) for _ in range(5)]

    # The store's follow and unfollow (the use cases also touch timelines,
    # which these backends leave out); their commits evict as the use cases' do.
    async def follow(whom: int) -> None:
        assert await b.store.graph.follow(b.next_id(), viewer, whom, b.clock_ms(), [])

    async def unfollow(whom: int) -> None:
        async with b.store.graph.unfollow(viewer, whom, b.clock_ms()) as (removed, _):
            assert removed is not None

    await follow(followed)
    await likes.like(b, viewer, page[0])

    async def read_page() -> tuple[set[int], set[int]]:
        db.queries.clear()
        cache.multi_gets = 0
        views, follows = await media_views_and_follows(b, page, viewer)
        assert [v.media.id for v in views] == page
        return {v.media.id for v in views if v.liked_by_me}, follows

    assert await read_page() == ({page[0]}, {followed})
    # Cold: the media and likes, then owners + follows together.
    assert cache.multi_gets == 2
    # One store query per kind, except that keys whose memcached lease is
    # held elsewhere are loaded after the lease wait, in a second one.
    assert 1 <= len(db.reads_of("likes")) <= 2, db.queries
    assert 1 <= len(db.reads_of("follows")) <= 2, db.queries

    assert await read_page() == ({page[0]}, {followed})
    # Warm: the owners of these posts are known, and come in the same one.
    assert cache.multi_gets == 1
    assert db.queries == []  # warm: the nine "not liked" and the stranger's "no" were cached

    await likes.like(b, viewer, page[7])
    await follow(stranger)
    assert await read_page() == ({page[0], page[7]}, {followed, stranger})

    await unfollow(followed)
    await likes.unlike(b, viewer, page[0])
    assert await read_page() == ({page[7]}, {stranger})
    await cache.close()


@pytest.mark.parametrize("cache_kind", ["memory"])
async def test_a_wrongly_remembered_owner_costs_a_round_trip_not_a_wrong_answer(
    database: Database, memcached_pair: list[MemcachedProcess], cache_kind: str
) -> None:
    cache = RoundTripCounter(make_cache(cache_kind, memcached_pair))
    b = await make_backends(database, cache, synced=False)  # type: ignore[arg-type]
    viewer, ana, bo = [await seed_user(b, n) for n in ("viewer", "ana", "bo")]
    post = await seed_media(b, ana)
    # As if another store's post with this ID had been shown by this worker.
    hydration._owner_of[post] = bo
    views, _ = await media_views_and_follows(b, [post], viewer)
    assert [(v.media.id, v.owner.id) for v in views] == [(post, ana)]
    assert views[0].owner.username.startswith("ana")
    assert cache.multi_gets == 2
    assert hydration._owner_of[post] == ana  # corrected
    cache.multi_gets = 0
    views, _ = await media_views_and_follows(b, [post], viewer)
    assert [v.owner.id for v in views] == [ana]
    assert cache.multi_gets == 1
    await cache.close()
