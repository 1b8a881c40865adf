"""The unread count of the activity inbox and the seen mark behind it."""

from __future__ import annotations

from gramstack.cache import keys
from gramstack.domain.backends import Backends
from gramstack.domain.errors import NotFound

# The count stops here: a badge shows "99+" long before, and the count is
# one bounded range read of the inbox partition, never a COUNT(*) of it all.
UNREAD_CAP = 100


async def unread_count(b: Backends, viewer: int) -> int:
    async def load() -> bytes | None:
        seen = await b.store.inbox_marks.seen_id(viewer)
        region = await b.region_holding(viewer)
        return str(await region.count_activity_after(viewer, seen, UNREAD_CAP)).encode()

    # Evicted by the rule table when the inbox_marks row changes: on every
    # inbox write (fanout.run_job) and when the seen mark moves.
    cached = await b.cache.get_or_load(keys.unread_key(viewer), load, b.limits.cache_ttl_s)
    return int(cached or b"0")


async def mark_seen(b: Backends, viewer: int, up_to: int) -> None:
    region = await b.region_holding(viewer)
    if not await region.has_activity(viewer, up_to):
        raise NotFound("activity", up_to)
    await b.store.inbox_marks.mark_seen(viewer, up_to)
