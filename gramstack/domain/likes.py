"""Likes: idempotent, counted in the transaction that writes them."""

from __future__ import annotations

from gramstack.domain import jobs
from gramstack.domain.backends import Backends
from gramstack.domain.models import ActivityRecord, LikeState, Page, PageRequest, UserView
from gramstack.domain.pagination import encode_cursor
from gramstack.domain.views import user_views
from gramstack.storage.store import NewJob

LIKERS = "likers"


async def like(b: Backends, viewer: int, media_id: int) -> LikeState:
    like_id = b.next_id()
    now = b.clock_ms()

    def activity_jobs(owner: int) -> list[NewJob]:
        if owner == viewer:
            return []
        activity = ActivityRecord(like_id, "like", viewer, media_id, now)
        return [jobs.inbox_add(b.next_id(), owner, activity)]

    _, count, _ = await b.store.like(like_id, media_id, viewer, now, activity_jobs)
    return LikeState(liked=True, like_count=count)


async def unlike(b: Backends, viewer: int, media_id: int) -> LikeState:
    def removal_jobs(owner: int, like_id: int) -> list[NewJob]:
        if owner == viewer:
            return []
        return [jobs.inbox_remove(b.next_id(), owner, like_id)]

    _, count = await b.store.unlike(media_id, viewer, b.clock_ms(), removal_jobs)
    return LikeState(liked=False, like_count=count)


async def likers(
    b: Backends, media_id: int, page: PageRequest, viewer: int | None
) -> Page[UserView]:
    from gramstack.domain.media import get_media

    await get_media(b, media_id, viewer)
    edges = await b.store.likers_page(media_id, page.after, page.limit + 1, viewer=viewer)
    more = len(edges) > page.limit
    edges = edges[: page.limit]
    cursor = encode_cursor(LIKERS, edges[-1][0]) if more else None
    return Page(await user_views(b, [uid for _, uid in edges], viewer), cursor)
