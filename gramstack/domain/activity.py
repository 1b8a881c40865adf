"""The activity inbox: likes, comments on my media, new followers."""

from __future__ import annotations

from gramstack.domain.backends import Backends
from gramstack.domain.hydration import media_records, user_records
from gramstack.domain.models import ActivityView, Page, PageRequest
from gramstack.domain.pagination import encode_cursor

ACTIVITY = "activity"


async def activity(b: Backends, viewer: int, page: PageRequest) -> Page[ActivityView]:
    region = await b.region_for(viewer)
    records = await region.activity_page(viewer, page.after, page.limit + 1)
    more = len(records) > page.limit
    records = records[: page.limit]
    actors = await user_records(b, [r.actor_id for r in records], viewer)
    media_ids = [r.media_id for r in records if r.media_id is not None]
    live = await media_records(b, media_ids, viewer)
    items = [
        ActivityView(r, actors[r.actor_id])
        for r in records
        if r.actor_id in actors and (r.media_id is None or r.media_id in live)
    ]
    cursor = encode_cursor(ACTIVITY, records[-1].id) if more else None
    return Page(items, cursor)
