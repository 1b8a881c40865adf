"""Hashtag pages, tag search and explore.

Explore ranks the last 7 days' posts by ``explore_score`` (likes and
comments, halved for each day of age; kept by every like and comment
write). The ranking is a snapshot: the top ``EXPLORE_SIZE`` posts, taken at
most once per ``limits.explore_refresh_s`` by the first request that finds the
current one stale (others wait on the cache lease), stored in the primary
database and cached. A cursor names its snapshot and a position in it, so
the ranking cannot shift under a reader; each page walks the snapshot
from there, skipping the viewer's own posts and those of accounts they
follow, and deleted posts.

Values shared by every viewer (tag counts, a tag's first page, tag search)
are filled from the leader: they are evicted when a post changes them, and
a fill read from a follower that has not replayed that post yet would keep
the old value until it expires. Fills happen on misses only (one per key
at a time, under the lease), so the leader sees a trickle.
"""

from __future__ import annotations

import json

from gramstack.cache import keys
from gramstack.domain.backends import Backends
from gramstack.domain.captions import normalize_tag
from gramstack.domain.errors import InvalidCursor, InvalidRequest, NotFound
from gramstack.domain.hydration import followed_among, media_records, media_views
from gramstack.domain.models import MediaView, Page, PageRequest, TagRecord
from gramstack.domain.pagination import encode_cursor

TAG_MEDIA = "tagmedia"
EXPLORE = "explore"
FIRST_PAGE = 101  # IDs kept for a tag's first page: the largest limit, plus one
MAX_TAG_QUERY = 100
# Prefixes longer than the store's prefix index: names read from the range, then ranked.
TAG_SEARCH_CANDIDATES = 1000
TAG_SEARCH_CACHED = 100  # best tags kept per cached prefix (the largest limit)
EXPLORE_SIZE = 1000
EXPLORE_WINDOW_MS = 7 * 24 * 3600 * 1000
EXPLORE_KEEP_MS = 24 * 3600 * 1000  # how long a cursor's snapshot stays readable
_POSITION_BITS = 10  # EXPLORE_SIZE < 2**10: a cursor key is snapshot << 10 | position


def tag_name(raw: str) -> str:
    name = normalize_tag(raw)
    if name is None:
        raise NotFound("tag", raw)
    return name


async def tag(b: Backends, raw: str) -> TagRecord:
    name = tag_name(raw)

    async def load() -> bytes | None:
        return str((await b.store.discovery.tag(name, fresh=True)).media_count).encode()

    count = await b.cache.get_or_load(keys.tag_key(name), load, b.limits.cache_ttl_s)
    return TagRecord(name, int(count or b"0"))


async def tag_media(
    b: Backends, raw: str, page: PageRequest, viewer: int | None
) -> Page[MediaView]:
    name = tag_name(raw)
    if page.after is None and page.limit < FIRST_PAGE:

        async def load() -> bytes | None:
            ids = await b.store.discovery.tag_media_page(name, None, FIRST_PAGE, fresh=True)
            return json.dumps(ids).encode()

        cached = await b.cache.get_or_load(keys.tag_media_key(name), load, b.limits.cache_ttl_s)
        ids: list[int] = json.loads(cached or b"[]")[: page.limit + 1]
    else:
        ids = await b.store.discovery.tag_media_page(
            name, page.after, page.limit + 1, viewer=viewer
        )
    more = len(ids) > page.limit
    ids = ids[: page.limit]
    found = await media_records(b, ids, viewer)
    views = await media_views(b, [found[i] for i in ids if i in found], viewer)
    return Page(views, encode_cursor(TAG_MEDIA, ids[-1]) if more else None)


async def search_tags(b: Backends, query: str, limit: int) -> list[TagRecord]:
    if not 1 <= len(query) <= MAX_TAG_QUERY:
        raise InvalidRequest(f"q must be 1 to {MAX_TAG_QUERY} characters")
    prefix = query.lower().removeprefix("#") if query != "#" else ""
    if not prefix or normalize_tag(prefix) is None:
        return []
    if len(prefix) > keys.TAG_SEARCH_CACHED_PREFIX:
        return await b.store.discovery.tags_with_prefix(prefix, limit, TAG_SEARCH_CANDIDATES)

    async def load() -> bytes | None:
        best = await b.store.discovery.tags_with_prefix(
            prefix, TAG_SEARCH_CACHED, TAG_SEARCH_CANDIDATES, fresh=True
        )
        return json.dumps([[t.name, t.media_count] for t in best]).encode()

    cached = await b.cache.get_or_load(keys.tag_search_key(prefix), load, b.limits.cache_ttl_s)
    return [TagRecord(name, count) for name, count in json.loads(cached or b"[]")][:limit]


# -- explore -------------------------------------------------------------------------


async def _current_snapshot(b: Backends) -> int:
    async def load() -> bytes | None:
        now = b.clock_ms()
        latest = await b.store.discovery.latest_explore_snapshot()
        if latest is not None and now - latest[1] < b.limits.explore_refresh_s * 1000:
            return str(latest[0]).encode()
        # Snapshot IDs are their time in ms: small enough to share a cursor
        # key with a position, and unique but for a same-ms race, which
        # take_explore_snapshot settles.
        taken = await b.store.discovery.take_explore_snapshot(
            now, now, now - EXPLORE_WINDOW_MS, EXPLORE_SIZE, now - EXPLORE_KEEP_MS
        )
        return str(taken).encode()

    ttl = b.limits.explore_refresh_s
    return int(await b.cache.get_or_load(keys.explore_current_key(), load, ttl) or b"0")


async def _snapshot(b: Backends, snapshot_id: int) -> list[tuple[int, int]]:
    async def load() -> bytes | None:
        ranking = await b.store.discovery.explore_snapshot(snapshot_id)
        return None if ranking is None else json.dumps(ranking).encode()

    ttl = EXPLORE_KEEP_MS // 1000
    cached = await b.cache.get_or_load(keys.explore_snapshot_key(snapshot_id), load, ttl)
    if cached is None:
        raise InvalidCursor("cursor has expired; start again from the first page")
    return [(int(m), int(o)) for m, o in json.loads(cached)]


async def explore(b: Backends, page: PageRequest, viewer: int | None) -> Page[MediaView]:
    if page.after is None:
        snapshot_id, position = await _current_snapshot(b), 0
    else:
        snapshot_id, position = (
            page.after >> _POSITION_BITS,
            (page.after & ((1 << _POSITION_BITS) - 1)) + 1,
        )
    ranking = await _snapshot(b, snapshot_id)
    oldest = b.clock_ms() - EXPLORE_WINDOW_MS
    picked: list[tuple[int, MediaView]] = []
    end = position
    chunk = page.limit + 1
    while len(picked) <= page.limit and end < len(ranking):
        window = list(enumerate(ranking[end : end + chunk], start=end))
        end += len(window)
        owners = {owner for _, (_, owner) in window}
        hidden = set()
        if viewer is not None:
            hidden = await followed_among(b, viewer, [o for o in owners if o != viewer])
            hidden.add(viewer)
        wanted = [(i, m) for i, (m, owner) in window if owner not in hidden]
        found = await media_records(b, [m for _, m in wanted], viewer)
        views = await media_views(
            b, [found[m] for _, m in wanted if m in found and found[m].created_at > oldest], viewer
        )
        by_id = {v.media.id: v for v in views}
        picked += [(i, by_id[m]) for i, m in wanted if m in by_id]
        chunk = min(chunk * 2, 200)
    more = len(picked) > page.limit
    picked = picked[: page.limit]
    cursor = None
    if more:
        cursor = encode_cursor(EXPLORE, snapshot_id << _POSITION_BITS | picked[-1][0])
    return Page([v for _, v in picked], cursor)
