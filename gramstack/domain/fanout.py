"""Handlers for the jobs of ``gramstack.domain.jobs``; each one is idempotent,
because the queue delivers at least once.

Fan-out on write, with pull for the largest audiences: a post goes to each
follower's timeline in the region that holds it, ``FANOUT_BATCH`` followers
per job, one insert statement per region and batch. An author with more
than ``fanout_pull_threshold`` followers is not fanned out at all: the
feed merges their recent posts in at read time (``domain.feed``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gramstack.domain import account_deletion, jobs, webhooks
from gramstack.domain.backends import Backends
from gramstack.records import ActivityRecord, Job
from gramstack.regional.ports import RegionalStore

FANOUT_BATCH = 500
MEDIA_SWEEP_BATCHES = 40


async def is_pulled(b: Backends, author: int) -> bool:
    """True when ``author``'s posts are pulled by readers, not pushed."""
    found = await b.store.accounts.users([author])
    return author in found and found[author].follower_count > b.limits.fanout_pull_threshold


async def _fanout_media(b: Backends, job: jobs.FanoutMedia) -> None:
    media_id, author = job.media_id, job.author_id
    if job.after < 0:
        await b.write_regional(author, lambda r: r.add_to_timelines([author], media_id, author))
        await b.store.timeline_marks.timelines_changed([author])
        if await is_pulled(b, author):
            return
    # Followers in ascending ID order from the (followee_id, follower_id)
    # index: each batch is one index range after the last, so a fan-out's
    # cost grows linearly with the audience.
    followers = await b.store.graph.follower_ids_after(author, job.after, FANOUT_BATCH)
    # Each follower's store by placement, one call per store (two stores
    # for a follower being moved: the move's double-write).
    await b.write_regional_many(
        followers, lambda region, user_ids: region.add_to_timelines(user_ids, media_id, author)
    )
    await b.store.timeline_marks.timelines_changed(followers)
    if len(followers) == FANOUT_BATCH:
        # Large audiences are done in batches, each its own job, so one
        # celebrity post does not hold a worker for minutes.
        await b.store.queue.enqueue(
            [jobs.fanout_media(b.next_id(), media_id, author, followers[-1])], b.clock_ms()
        )


async def _media_removed(b: Backends, job: jobs.MediaRemoved) -> None:
    for region in b.regions.values():
        await region.remove_media_from_timelines(job.media_id)
    owner, media_id = job.owner_id, job.media_id
    await b.write_regional(owner, lambda r: r.remove_activity_for_media(owner, media_id))
    await b.store.inbox_marks.inbox_changed([owner])
    # Others' items about the post, above all the mention items of comments
    # on it for third parties (no stored row names them): swept by media in
    # bounded batches; after MEDIA_SWEEP_BATCHES the job goes on as a new one.
    for _ in range(MEDIA_SWEEP_BATCHES):
        if not await account_deletion.media_inbox_sweep(b, media_id):
            break
    else:
        await b.store.queue.enqueue(
            [jobs.media_removed(b.next_id(), media_id, owner)], b.clock_ms()
        )
    # Caption mentions notified other users; their rows outlive the post
    # until their items are gone, so a retried job still finds them.
    for user_id, activity_id in (await b.store.media.caption_mentions(media_id)).items():
        await b.write_regional(user_id, _activity_removal(user_id, activity_id))
    await b.store.media.forget_caption_mentions(media_id)


def _activity_removal(user_id: int, activity_id: int) -> Callable[[RegionalStore], Awaitable[None]]:
    async def remove(region: RegionalStore) -> None:
        await region.remove_activity(user_id, activity_id)

    return remove


async def _causes_live(b: Backends, activity: ActivityRecord) -> bool:
    """Whether the item's actor and the post it is about (if any) are both
    still there, read from the leader: a deletion's sweep of either may have
    run before the item was added."""
    if not await b.store.accounts.is_live(activity.actor_id):
        return False
    return activity.media_id is None or await b.store.media.is_live(activity.media_id)


async def run_job(b: Backends, job: Job) -> bool:
    """Decode ``job`` and carry it out; raises if it cannot be (the worker
    retries). False when the job was handed on: a webhook delivery under way
    completes its job once the attempt has an outcome, so a process that dies
    while sending leaves the job claimed, its claim runs out and the event
    is sent again (at least once)."""
    match jobs.decode(job):
        case jobs.FanoutMedia() as fanout:
            await _fanout_media(b, fanout)
        case jobs.MediaRemoved() as removed:
            await _media_removed(b, removed)
        case jobs.InboxAdd() as added:
            activity = added.activity()
            await b.write_regional(added.user_id, lambda r: r.add_activity(added.user_id, activity))
            live = await _causes_live(b, activity)
            if not live:
                # The actor's account or the post was deleted: its job's inbox
                # sweep may have run before this add (a job retried late), so
                # take the item away again. Checked after the add: either this
                # read sees the deletion, or the sweep, which follows it, sees the item.
                await b.write_regional(added.user_id, _activity_removal(added.user_id, added.id))
            await b.store.inbox_marks.inbox_changed([added.user_id])
            if live:
                # Every event that reaches an inbox, of any type, goes to the
                # owner's webhook too: as a job of its own, never inline.
                await webhooks.enqueue_delivery(b, added)
        case jobs.WebhookDeliver() as delivery:
            return await webhooks.deliver(b, delivery, job.id)
        case jobs.InboxRemove() as removal:
            await b.write_regional(
                removal.user_id, lambda r: r.remove_activity(removal.user_id, removal.id)
            )
            await b.store.inbox_marks.inbox_changed([removal.user_id])
        case jobs.MoveUser() as move:
            # One step of the move per run; the next is a new job, due when
            # the location caches have caught up (see placement.migrator).
            again = await b.placement.advance_move(move.user_id, move.region)
            if again is not None:
                await b.store.queue.enqueue(
                    [jobs.move_user(b.next_id(), move.user_id, move.region)], again
                )
        case jobs.AccountDeletion() as deletion:
            await account_deletion.run(b, deletion.user_id)
    return True
