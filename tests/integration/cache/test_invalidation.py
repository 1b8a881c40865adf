"""Every write makes stale entries disappear in every process: the writer
evicts its own keys after commit, other workers read the outbox (before a
request's first cached read, and in the background), and memcached is
shared by all."""

from __future__ import annotations

import asyncio

import pytest

from gramstack.cache import keys
from gramstack.domain.backends import Backends
from gramstack.domain.errors import NotFound
from gramstack.domain.hydration import user_view
from gramstack.domain.likes import like
from gramstack.domain.media import get_media
from gramstack.domain.models import PageRequest
from gramstack.invalidation.outbox import OutboxReader, OutboxSyncedCache
from gramstack.runtime.devcluster.memcached import MemcachedProcess
from gramstack.storage.ports import Database
from tests.integration.cache.conftest import (
    make_backends,
    make_cache,
    seed_media,
    seed_user,
)


async def _in_new_request(coro):  # type: ignore[no-untyped-def]
    """Run as the API would: each request is its own task."""
    return await asyncio.create_task(coro)


async def _two_workers(db: Database) -> tuple[Backends, Backends]:
    return (
        await make_backends(db, make_cache("memory", [])),
        await make_backends(db, make_cache("memory", [])),
    )


async def test_a_write_through_one_worker_is_read_through_the_other_at_once(
    database: Database,
) -> None:
    a, b = await _two_workers(database)
    owner, fan = await seed_user(a, "owner"), await seed_user(a, "fan")
    media = await seed_media(a, owner)
    view = await _in_new_request(get_media(b, media, fan))
    assert (view.media.like_count, view.liked_by_me) == (0, False)
    async with a.store.reactions.like(a.next_id(), media, fan, a.clock_ms()):
        pass
    view = await _in_new_request(get_media(b, media, fan))
    assert (view.media.like_count, view.liked_by_me) == (1, True)
    async with a.store.reactions.unlike(media, fan, a.clock_ms()):
        pass
    view = await _in_new_request(get_media(b, media, fan))
    assert (view.media.like_count, view.liked_by_me) == (0, False)


async def test_every_kind_of_write_evicts_what_it_changed(database: Database) -> None:
    from gramstack.domain.media import user_media
    from gramstack.domain.models import CommentRecord

    a, b = await _two_workers(database)
    ana, bo = await seed_user(a, "ana"), await seed_user(a, "bo")
    ana_name = (await a.store.accounts.users([ana]))[ana].username
    first = await seed_media(a, ana)
    page = PageRequest(limit=20, after=None)

    async def state() -> tuple[object, ...]:
        ana_view = await _in_new_request(user_view(b, ana, bo))
        media = await _in_new_request(get_media(b, first, bo))
        mine = await _in_new_request(user_media(b, ana_name, page, bo))
        return (
            ana_view.user.follower_count,
            ana_view.user.media_count,
            ana_view.user.bio,
            ana_view.followed_by_me,
            media.media.comment_count,
            [m.media.id for m in mine.items],
        )

    assert await state() == (0, 1, "", False, 0, [first])
    await a.store.graph.follow(a.next_id(), bo, ana, a.clock_ms(), [])
    assert await state() == (1, 1, "", True, 0, [first])
    await a.store.accounts.update_profile(ana, None, "hello")
    assert await state() == (1, 1, "hello", True, 0, [first])
    comment = CommentRecord(a.next_id(), first, bo, "nice", a.clock_ms())
    async with a.store.reactions.add_comment(comment):
        pass
    assert await state() == (1, 1, "hello", True, 1, [first])
    await a.store.reactions.delete_comment(comment.id, a.clock_ms(), [])
    assert await state() == (1, 1, "hello", True, 0, [first])
    second = await seed_media(a, ana)
    assert await state() == (1, 2, "hello", True, 0, [second, first])
    await a.store.media.delete_media(second, a.clock_ms(), [])
    assert await state() == (1, 1, "hello", True, 0, [first])
    async with a.store.graph.unfollow(bo, ana, a.clock_ms()):
        pass
    assert await state() == (0, 1, "hello", False, 0, [first])


async def test_the_background_poll_evicts_without_any_read(database: Database) -> None:
    a, b = await _two_workers(database)
    owner = await seed_user(a, "owner")
    media = await seed_media(a, owner)
    await _in_new_request(get_media(b, media, None))
    assert isinstance(b.cache, OutboxSyncedCache)
    assert await b.cache.inner.get(keys.media_key(media)) is not None
    poll = asyncio.create_task(b.cache._tailer.run())
    try:
        async with a.store.reactions.like(a.next_id(), media, owner, a.clock_ms()):
            pass
        for _ in range(100):
            if await b.cache.inner.get(keys.media_key(media)) is None:
                break
            await asyncio.sleep(0.01)
        assert await b.cache.inner.get(keys.media_key(media)) is None
    finally:
        poll.cancel()


async def test_a_reader_that_lost_its_place_forgets_everything(database: Database) -> None:
    a, b = await _two_workers(database)
    owner = await seed_user(a, "owner")
    media = await seed_media(a, owner)
    await _in_new_request(get_media(b, media, None))
    await a.store.accounts.update_profile(owner, "x", None)
    await OutboxReader(database).prune(a.clock_ms() + 1000)  # rows b never saw
    async with a.store.reactions.like(a.next_id(), media, owner, a.clock_ms()):
        pass
    view = await _in_new_request(get_media(b, media, None))
    assert view.media.like_count == 1
    assert view.owner.full_name == "x"


async def test_outbox_rows_commit_with_their_write_and_in_order(database: Database) -> None:
    a = await make_backends(database, make_cache("memory", []))
    reader = OutboxReader(database)
    start = await reader.head()
    owner = await seed_user(a, "owner")
    media = await seed_media(a, owner)
    with pytest.raises(NotFound):  # rolled back, and so is its outbox row
        await like(a, owner, media + 1)
    await asyncio.gather(*(a.store.accounts.update_profile(owner, None, str(i)) for i in range(20)))
    entries = await reader.after(start, 1000)
    ids = [e.id for e in entries]
    assert ids == list(range(start + 1, start + 1 + len(ids)))  # no gaps, no doubles
    assert len(ids) == 2 + 20


async def test_memcached_is_shared_so_the_writers_delete_reaches_every_worker(
    database: Database, memcached_pair: list[MemcachedProcess]
) -> None:
    a = await make_backends(database, make_cache("memcached", memcached_pair))
    b = await make_backends(database, make_cache("memcached", memcached_pair))
    owner, fan = await seed_user(a, "owner"), await seed_user(a, "fan")
    media = await seed_media(a, owner)
    assert (await get_media(b, media, fan)).media.like_count == 0
    async with a.store.reactions.like(a.next_id(), media, fan, a.clock_ms()):
        pass
    view = await get_media(b, media, fan)
    assert (view.media.like_count, view.liked_by_me) == (1, True)
    await a.cache.close()
    await b.cache.close()
