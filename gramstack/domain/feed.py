"""The home feed: read the caller's materialized timeline, hydrate, and drop
what was deleted since it was fanned out."""

from __future__ import annotations

from gramstack.domain.backends import Backends
from gramstack.domain.hydration import media_views_and_follows
from gramstack.domain.models import MediaView, Page, PageRequest
from gramstack.domain.pagination import encode_cursor

FEED = "feed"
_MAX_SCANS = 5


async def home_feed(b: Backends, viewer: int, page: PageRequest) -> Page[MediaView]:
    region = await b.region_for(viewer)
    items: list[MediaView] = []
    after = page.after
    # Timeline rows of deleted media are removed by a job; until it runs they
    # are skipped here, and so are rows of authors no longer followed (a
    # fan-out racing an unfollow can write one after the unfollow cleaned
    # up). Keep reading until the page is full.
    for _ in range(_MAX_SCANS):
        wanted = page.limit - len(items)
        ids = await region.timeline_page(viewer, after, wanted + 1)
        more = len(ids) > wanted
        ids = ids[:wanted]
        # Which authors are still followed comes through the cache (the
        # per-pair keys of ``followed_by_me``) in the owners' multi-get: a
        # warm feed page asks the store for the timeline alone.
        views, followed = await media_views_and_follows(b, ids, viewer)
        items.extend(v for v in views if v.owner.id == viewer or v.owner.id in followed)
        if ids:
            after = ids[-1]
        if not more or len(items) >= page.limit:
            break
    else:
        more = True
    cursor = encode_cursor(FEED, after) if more and after is not None else None
    return Page(items, cursor)
