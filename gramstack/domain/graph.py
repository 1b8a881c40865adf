"""Profiles and the follow graph."""

from __future__ import annotations

from gramstack.domain import jobs
from gramstack.domain.backends import Backends
from gramstack.domain.errors import Conflict
from gramstack.domain.hydration import user_id_for, user_view, user_views
from gramstack.domain.models import ActivityRecord, Page, PageRequest, UserView
from gramstack.domain.pagination import encode_cursor

FOLLOWERS = "followers"
FOLLOWING = "following"
BACKFILL_POSTS = 50


async def get_user(b: Backends, username: str, viewer: int | None) -> UserView:
    return await user_view(b, await user_id_for(b, username), viewer)


async def follow(b: Backends, viewer: int, username: str) -> UserView:
    target = await user_id_for(b, username)
    if target == viewer:
        raise Conflict("you cannot follow yourself")
    follow_id = b.next_id()
    now = b.clock_ms()
    activity = ActivityRecord(follow_id, "follow", viewer, None, now)
    created = await b.store.graph.follow(
        follow_id, viewer, target, now, [jobs.inbox_add(b.next_id(), target, activity)]
    )
    if created:
        # The follower's own timeline is theirs to read next: fill it now
        # rather than through the queue (read your own writes).
        recent = await b.store.media.user_media_page(target, None, BACKFILL_POSTS, viewer=viewer)
        entries = [(m.id, m.owner_id) for m in recent]
        await b.write_regional(viewer, lambda r: r.add_many_to_timeline(viewer, entries))
        await b.store.timeline_marks.timelines_changed([viewer])
    return await user_view(b, target, viewer)


async def unfollow(b: Backends, viewer: int, username: str) -> UserView:
    target = await user_id_for(b, username)

    async with b.store.graph.unfollow(viewer, target, b.clock_ms()) as (removed, tx):
        if removed is not None:
            tx.enqueue(jobs.inbox_remove(b.next_id(), target, removed))
    if removed is not None:
        await b.write_regional(viewer, lambda r: r.remove_author_from_timeline(viewer, target))
        await b.store.timeline_marks.timelines_changed([viewer])
    return await user_view(b, target, viewer)


async def _edge_page(
    b: Backends, kind: str, username: str, page: PageRequest, viewer: int | None
) -> Page[UserView]:
    user_id = await user_id_for(b, username)
    lister = b.store.graph.followers_page if kind == FOLLOWERS else b.store.graph.following_page
    edges = await lister(user_id, page.after, page.limit + 1, viewer=viewer)
    more = len(edges) > page.limit
    edges = edges[: page.limit]
    views = await user_views(b, [other for _, other in edges], viewer)
    cursor = encode_cursor(kind, edges[-1][0]) if more else None
    return Page(views, cursor)


async def followers(
    b: Backends, username: str, page: PageRequest, viewer: int | None
) -> Page[UserView]:
    return await _edge_page(b, FOLLOWERS, username, page, viewer)


async def following(
    b: Backends, username: str, page: PageRequest, viewer: int | None
) -> Page[UserView]:
    return await _edge_page(b, FOLLOWING, username, page, viewer)
