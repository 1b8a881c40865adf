"""Handlers for the jobs of ``gramstack.domain.jobs``; each one is idempotent,
because the queue delivers at least once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from gramstack.domain import jobs
from gramstack.domain.backends import Backends
from gramstack.domain.models import ActivityRecord

FANOUT_BATCH = 500

Handler = Callable[[Backends, Mapping[str, Any]], Awaitable[None]]


async def _fanout_media(b: Backends, payload: Mapping[str, Any]) -> None:
    media_id, author = int(payload["media_id"]), int(payload["author_id"])
    after = int(payload["after"])
    if after < 0:
        await (await b.region_for(author)).add_to_timelines([author], media_id, author)
    followers = await b.store.follower_ids_after(author, after, FANOUT_BATCH)
    by_region: dict[str, list[int]] = defaultdict(list)
    for follower in followers:
        by_region[await b.placement.region_of(follower)].append(follower)
    for region, user_ids in by_region.items():
        await b.regions[region].add_to_timelines(user_ids, media_id, author)
    if len(followers) == FANOUT_BATCH:
        # Large audiences are done in batches, each its own job, so one
        # celebrity post does not hold a worker for minutes.
        await b.store.enqueue(
            [jobs.fanout_media(b.next_id(), media_id, author, followers[-1])], b.clock_ms()
        )


async def _media_removed(b: Backends, payload: Mapping[str, Any]) -> None:
    media_id, owner = int(payload["media_id"]), int(payload["owner_id"])
    for region in b.regions.values():
        await region.remove_media_from_timelines(media_id)
    await (await b.region_for(owner)).remove_activity_for_media(owner, media_id)


async def _inbox_add(b: Backends, payload: Mapping[str, Any]) -> None:
    user_id = int(payload["user_id"])
    media_id = payload["media_id"]
    activity = ActivityRecord(
        id=int(payload["id"]),
        type=payload["type"],
        actor_id=int(payload["actor_id"]),
        media_id=None if media_id is None else int(media_id),
        created_at=int(payload["created_at"]),
    )
    await (await b.region_for(user_id)).add_activity(user_id, activity)


async def _inbox_remove(b: Backends, payload: Mapping[str, Any]) -> None:
    user_id = int(payload["user_id"])
    await (await b.region_for(user_id)).remove_activity(user_id, int(payload["id"]))


HANDLERS: Mapping[str, Handler] = {
    jobs.FANOUT_MEDIA: _fanout_media,
    jobs.MEDIA_REMOVED: _media_removed,
    jobs.INBOX_ADD: _inbox_add,
    jobs.INBOX_REMOVE: _inbox_remove,
}
