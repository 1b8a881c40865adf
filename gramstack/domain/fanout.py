"""Handlers for the jobs of ``gramstack.domain.jobs``; each one is idempotent,
because the queue delivers at least once.

Fan-out on write, with pull for the largest audiences: a post goes to each
follower's timeline in the region that holds it, ``FANOUT_BATCH`` followers
per job, one insert statement per region and batch. An author with more
than ``fanout_pull_threshold`` followers is not fanned out at all: the
feed merges their recent posts in at read time (``domain.feed``).
"""

from __future__ import annotations

from collections import defaultdict

from gramstack.domain import jobs
from gramstack.domain.backends import Backends
from gramstack.records import Job

FANOUT_BATCH = 500


async def is_pulled(b: Backends, author: int) -> bool:
    """True when ``author``'s posts are pulled by readers, not pushed."""
    found = await b.store.accounts.users([author])
    return author in found and found[author].follower_count > b.limits.fanout_pull_threshold


async def _fanout_media(b: Backends, job: jobs.FanoutMedia) -> None:
    media_id, author = job.media_id, job.author_id
    if job.after < 0:
        await (await b.region_for(author)).add_to_timelines([author], media_id, author)
        if await is_pulled(b, author):
            return
    # Followers in ascending ID order from the (followee_id, follower_id)
    # index: each batch is one index range after the last, so a fan-out's
    # cost grows linearly with the audience.
    followers = await b.store.graph.follower_ids_after(author, job.after, FANOUT_BATCH)
    by_region: dict[str, list[int]] = defaultdict(list)
    for follower in followers:
        by_region[await b.placement.region_of(follower)].append(follower)
    for region, user_ids in by_region.items():
        await b.regions[region].add_to_timelines(user_ids, media_id, author)
    if len(followers) == FANOUT_BATCH:
        # Large audiences are done in batches, each its own job, so one
        # celebrity post does not hold a worker for minutes.
        await b.store.queue.enqueue(
            [jobs.fanout_media(b.next_id(), media_id, author, followers[-1])], b.clock_ms()
        )


async def _media_removed(b: Backends, job: jobs.MediaRemoved) -> None:
    for region in b.regions.values():
        await region.remove_media_from_timelines(job.media_id)
    await (await b.region_for(job.owner_id)).remove_activity_for_media(job.owner_id, job.media_id)


async def run_job(b: Backends, job: Job) -> None:
    """Decode ``job`` and carry it out; raises if it cannot be (the worker retries)."""
    match jobs.decode(job):
        case jobs.FanoutMedia() as fanout:
            await _fanout_media(b, fanout)
        case jobs.MediaRemoved() as removed:
            await _media_removed(b, removed)
        case jobs.InboxAdd() as added:
            await (await b.region_for(added.user_id)).add_activity(added.user_id, added.activity())
        case jobs.InboxRemove() as removal:
            await (await b.region_for(removal.user_id)).remove_activity(removal.user_id, removal.id)
