"""The home feed: the caller's materialized timeline, merged with the recent
posts of the accounts they follow that are too large to fan out, hydrated,
minus what was deleted or unfollowed since it was fanned out.

The newest ``TIMELINE_CACHED`` IDs of each timeline are cached as one
list, so a first page (and the next few) reads no regional store: every
write that adds to a timeline (fan-out, a post's author, a follow's
backfill, an unfollow's cleanup) bumps the timeline's mark in the primary
store afterwards, and the invalidation rules evict the list in every
process. Removals that name no timeline (a deleted post) are not marked:
the page drops deleted posts anyway, and reads on past the list's end.

Pulled accounts (more than ``fanout_pull_threshold`` followers, see
``domain.fanout``) are merged by media ID: each source yields its newest
IDs below the cursor, and the page is the newest of their union, so the
keyset cursor (the last media ID handed out) stays exact across sources.
Reading pulled accounts with a slightly lower bar than fan-out skips them
means an account hovering around the threshold is merged twice (the merge
drops duplicates) rather than missed.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
from collections.abc import Sequence

import msgspec

from gramstack.cache import keys
from gramstack.domain.backends import Backends
from gramstack.domain.hydration import media_views_and_follows
from gramstack.domain.media import FIRST_PAGE, newest_media_ids
from gramstack.domain.models import MediaView, Page, PageRequest
from gramstack.domain.pagination import MAX_LIMIT, encode_cursor
from gramstack.regional.ports import RegionalStore

FEED = "feed"
_MAX_SCANS = 5
# A follow or unfollow evicts the list at once; this bounds how long an
# account crossing the threshold takes to be merged.
_PULLED_TTL_S = 60
_PULLED_DECODER = msgspec.json.Decoder(list[int])
_NONE_PULLED = b"[]"
# The largest page, plus one to know whether there is more.
TIMELINE_CACHED = MAX_LIMIT + 1
_TIMELINE_ENCODER = msgspec.msgpack.Encoder()
# Per worker, the lists of the timelines read lately decoded once: equal
# bytes decode to the same IDs, and a tuple cannot be changed by a reader.
# A list is about 4 KiB of int objects: 256 of them keep a worker's heap
# within a megabyte.
_decode_timeline = functools.lru_cache(maxsize=256)(msgspec.msgpack.Decoder(tuple[int, ...]).decode)


async def pulled_followees(b: Backends, viewer: int) -> list[int]:
    """The accounts ``viewer`` follows whose posts are pulled, cached."""
    threshold = b.limits.fanout_pull_threshold
    bar = threshold - threshold // 10

    async def load() -> bytes | None:
        found = await b.store.graph.followed_with_followers_over(viewer, bar)
        return msgspec.json.encode(found)

    cached = await b.cache.get_or_load(keys.pulled_followees_key(viewer), load, _PULLED_TTL_S)
    if not cached or cached == _NONE_PULLED:
        return []  # most people follow no pulled account: nothing to decode
    return _PULLED_DECODER.decode(cached)


async def newest_timeline_ids(b: Backends, region: RegionalStore, viewer: int) -> tuple[int, ...]:
    """The newest ``TIMELINE_CACHED`` media IDs of ``viewer``'s timeline,
    newest first, cached; fewer means these are all of them."""

    async def load() -> bytes | None:
        # From the store's leader: a list refilled just after its eviction
        # from a follower that has not replayed the write yet would keep the
        # old page for the key's whole lifetime.
        ids = await region.timeline_page(viewer, None, TIMELINE_CACHED, fresh=True)
        return _TIMELINE_ENCODER.encode(ids)

    cached = await b.cache.get_or_load(keys.timeline_key(viewer), load, b.limits.cache_ttl_s)
    return _decode_timeline(cached) if cached else ()


def _from_newest(newest: Sequence[int], kept: int, after: int | None, n: int) -> list[int] | None:
    """The ``n`` newest of a cached list of the ``kept`` newest IDs (fewer:
    all there are) below ``after``; None when the list does not reach that
    far and the store must be read."""
    below = list(newest[:n]) if after is None else [i for i in newest if i < after][:n]
    return below if len(below) >= n or len(newest) < kept else None


async def _timeline_ids(
    b: Backends, region: RegionalStore, viewer: int, after: int | None, n: int
) -> list[int]:
    """``viewer``'s ``n`` newest timeline IDs below ``after``: from the
    cached newest list when it reaches that far, else one store read."""
    newest = await newest_timeline_ids(b, region, viewer)
    found = _from_newest(newest, TIMELINE_CACHED, after, n)
    return found if found is not None else await region.timeline_page(viewer, after, n)


async def _recent_ids(
    b: Backends, author: int, viewer: int, after: int | None, n: int
) -> list[int]:
    """``author``'s ``n`` newest media IDs below ``after``: from the cached
    newest list when it reaches that far, else one indexed store read."""
    found = _from_newest(await newest_media_ids(b, author, viewer), FIRST_PAGE, after, n)
    if found is not None:
        return found
    records = await b.store.media.user_media_page(author, after, n, viewer=viewer)
    return [m.id for m in records]


async def _newest_ids(
    b: Backends, viewer: int, pulled: list[int], after: int | None, n: int
) -> list[int]:
    """The ``n`` newest media IDs below ``after`` across the timeline and
    the pulled accounts, each once."""
    region = await b.region_for(viewer)
    if not pulled:
        # One source: awaited in this task (a gather would wrap it in one).
        return await _timeline_ids(b, region, viewer, after, n)
    sources = await asyncio.gather(
        _timeline_ids(b, region, viewer, after, n),
        *(_recent_ids(b, author, viewer, after, n) for author in pulled),
    )
    merged = heapq.merge(*sources, reverse=True)
    return list(dict.fromkeys(merged))[:n]


async def home_feed(b: Backends, viewer: int, page: PageRequest) -> Page[MediaView]:
    pulled = await pulled_followees(b, viewer)
    items: list[MediaView] = []
    after = page.after
    # Timeline rows of deleted media are removed by a job; until it runs they
    # are skipped here, and so are rows of authors no longer followed (a
    # fan-out racing an unfollow can write one after the unfollow cleaned
    # up, and a pulled list may predate the unfollow). Keep reading until
    # the page is full.
    for _ in range(_MAX_SCANS):
        wanted = page.limit - len(items)
        ids = await _newest_ids(b, viewer, pulled, after, wanted + 1)
        more = len(ids) > wanted
        ids = ids[:wanted]
        # Which authors are still followed comes through the cache (the
        # per-pair keys of ``followed_by_me``) in the owners' multi-get: a
        # warm feed page asks the store for the timeline alone.
        views, followed = await media_views_and_follows(b, ids, viewer)
        items += [v for v in views if v.owner.id == viewer or v.owner.id in followed]
        if ids:
            after = ids[-1]
        if not more or len(items) >= page.limit:
            break
    else:
        more = True
    cursor = encode_cursor(FEED, after) if more and after is not None else None
    return Page(items, cursor)
