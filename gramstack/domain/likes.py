"""Likes: idempotent, counted in the transaction that writes them."""

from __future__ import annotations

from gramstack.domain import jobs
from gramstack.domain.backends import Backends
from gramstack.domain.errors import NotFound
from gramstack.domain.hydration import user_views
from gramstack.domain.models import ActivityRecord, LikeState, Page, PageRequest, UserView
from gramstack.domain.pagination import encode_cursor

LIKERS = "likers"


async def like(b: Backends, viewer: int, media_id: int) -> LikeState:
    like_id = b.next_id()
    now = b.clock_ms()
    async with b.store.reactions.like(like_id, media_id, viewer, now) as (liked, tx):
        if liked is None:
            raise NotFound("media", media_id)
        if liked.like_id is not None and liked.owner_id != viewer:
            activity = ActivityRecord(like_id, "like", viewer, media_id, now)
            tx.enqueue(jobs.inbox_add(b.next_id(), liked.owner_id, activity))
    return LikeState(liked=True, like_count=liked.like_count)


async def unlike(b: Backends, viewer: int, media_id: int) -> LikeState:
    async with b.store.reactions.unlike(media_id, viewer, b.clock_ms()) as (unliked, tx):
        if unliked is None:
            raise NotFound("media", media_id)
        if unliked.like_id is not None and unliked.owner_id != viewer:
            tx.enqueue(jobs.inbox_remove(b.next_id(), unliked.owner_id, unliked.like_id))
    return LikeState(liked=False, like_count=unliked.like_count)


async def likers(
    b: Backends, media_id: int, page: PageRequest, viewer: int | None
) -> Page[UserView]:
    from gramstack.domain.media import get_media

    await get_media(b, media_id, viewer)
    edges = await b.store.reactions.likers_page(media_id, page.after, page.limit + 1, viewer=viewer)
    more = len(edges) > page.limit
    edges = edges[: page.limit]
    cursor = encode_cursor(LIKERS, edges[-1][0]) if more else None
    return Page(await user_views(b, [uid for _, uid in edges], viewer), cursor)
