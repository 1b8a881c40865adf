"""Account deletion's job: clear everything a deleted account made.

The request (``accounts.delete_account``) marked the account deleted,
revoked its sessions and freed its username in one transaction, so it is
gone from every read at once; this job then clears its rows in bounded
batches. Each batch first cleans what lives outside the primary store and
is idempotent there (inbox tombstones, timeline rows, blobs), then deletes
exactly the rows it read and corrects the counters of the rows it really
deleted, in one transaction (``storage.erasure``). So the job may stop at
any point and run again, or run twice at once: nothing is decremented twice.

The activity items the account caused in other people's inboxes go in two
ways. Those a stored row names go by ID with the row (follow, like, comment
items, the owner's mention item of a comment, caption mentions from
``media_mentions``): a tombstone by ID also stops an add job that runs late.
The rest, above all a comment's mention items for people other than the
post's owner, are named by nothing in the primary store, so ``inbox_step``
sweeps them last: each region's live items by the account, from a partial
index ``inbox_by_actor (actor_id) WHERE type <> 'removed'``, at most
``BATCH`` per region and batch, tombstoned through placement (both stores of
an owner being moved), then the owners' unread counts evicted. Tombstones
leave the partial index, so each batch is the next one and a repeated batch
changes nothing; no counter counts inbox rows, so only the unread counts'
cache needs correcting. An add job that runs after the sweep takes its own
item away again when its actor is deleted (``fanout.run_job``).

Why an index by actor rather than the mentions found again in the stored
text (what ``comments.delete_comment`` does): a name in the text is looked
up as it is now, so an account that deleted itself, or a name taken again
by someone else, sends the tombstone to the wrong inbox or none; and a
comment already deleted leaves no text to parse. The sweep finds whatever
the account caused, whatever its type, in one bounded statement per region.
Its cost (``bench/inbox_actor_index.py``): one index entry (three
bigints) more per inbox add, which is a background job's write, never a
request's; measured per add on this shared 2-core machine (load ~10),
SQLite 232 -> 272..308 us in two runs and 393 -> 321 us in a third (the
noise is larger than the cost), PostgreSQL 0.92 -> 0.97 ms (+6 %) and
3.47 -> 3.85 ms (+11 %), both dominated by the commit. Building it over an
existing inbox at start-up (``create_schema``): 4..11 ms per 10,000-20,000
rows on SQLite, 19..92 ms on PostgreSQL (which blocks inbox writes, not
reads, for that long). One sweep batch: 0.6 ms SQLite, 16..22 ms PostgreSQL.
A stored list of each comment's mentioned IDs (like ``media_mentions``)
would be exact too, but needs a migration that parses every comment's
text, and still misses items whose comment is gone.

A deleted post is swept the same way, by media (``media_inbox_sweep``, from
a partial index ``inbox_for_media_removal (media_id) WHERE media_id IS NOT
NULL AND type <> 'removed'``): the post-deletion job (``fanout``) sweeps its
batches and goes on as a new job after ``MEDIA_SWEEP_BATCHES``, and
``media_step`` sweeps a batch of the account's posts before it deletes them.
This catches the mention items of others' comments on the post for third
parties, which neither the actor sweep (another actor) nor the owner's
cleanup (another inbox) reaches; an add job running late checks the post
too, and its owner's account (``media_step`` sweeps before it deletes the
rows, but after the account was marked deleted). Its cost
(``bench/inbox_actor_index.py --index inbox_for_media_removal``, 10,000
adds, same shared machine): SQLite 174 -> 233 us per add in one run and 283
-> 280 us in the next (noise again), PostgreSQL 0.89 -> 0.85 ms (within
noise); build 4..8 ms; one sweep batch 0.8..1.1 ms SQLite, 10 ms PostgreSQL.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence

from gramstack.domain import jobs
from gramstack.domain.avatars import avatar_blob_keys
from gramstack.domain.backends import Backends
from gramstack.domain.comments import owner_mention_id
from gramstack.domain.media import MAX_PHOTOS, blob_keys
from gramstack.regional.ports import RegionalStore

BATCH = 500
MEDIA_BATCH = 100
# Batches per run; then the job re-enqueues itself, so one large account
# does not hold a worker (nor a job lease) for minutes.
BATCHES_PER_RUN = 40


async def _untell(b: Backends, items: list[tuple[int, int]]) -> None:
    """Tombstone the activity items (ID, inbox owner) the account caused."""
    for activity_id, owner in items:
        await b.write_regional(owner, functools.partial(_remove_activity, owner, activity_id))
    await b.store.inbox_marks.inbox_changed([owner for _, owner in items])


async def _remove_activity(owner: int, activity_id: int, region: RegionalStore) -> None:
    await region.remove_activity(owner, activity_id)


Batch = Sequence[tuple[int, ...]]


async def following_step(b: Backends, user_id: int, batch: Batch | None = None) -> Batch:
    """Follows the account made: its follow items in the followees' inboxes,
    their follower counts. Each step does one batch (``batch``, to repeat one
    as a retry would, else the next) and returns it: empty when none is left."""
    todo: Batch = (
        batch if batch is not None else await b.store.erasure.following_batch(user_id, BATCH)
    )
    await _untell(b, [(follow_id, followee) for follow_id, followee in todo])
    await b.store.erasure.delete_follows([follow_id for follow_id, _ in todo])
    return todo


async def follower_step(b: Backends, user_id: int, batch: Batch | None = None) -> Batch:
    """Follows of the account: its posts in the followers' timelines, their
    following counts."""
    todo: Batch = (
        batch if batch is not None else await b.store.erasure.follower_batch(user_id, BATCH)
    )
    # One statement per region for the whole batch (at most BATCH followers),
    # to every store each follower's data must get it in (two during a move).
    await b.write_regional_many(
        [follower for _, follower in todo],
        lambda region, followers: region.remove_author_from_timelines(followers, user_id),
    )
    await b.store.timeline_marks.timelines_changed([follower for _, follower in todo])
    await b.store.erasure.delete_follows([follow_id for follow_id, _ in todo])
    return todo


async def like_step(b: Backends, user_id: int, batch: Batch | None = None) -> Batch:
    todo: Batch = batch if batch is not None else await b.store.erasure.like_batch(user_id, BATCH)
    await _untell(b, [(like_id, owner) for like_id, _, owner in todo])
    await b.store.erasure.delete_likes([like_id for like_id, _, _ in todo])
    return todo


async def comment_step(b: Backends, user_id: int, batch: Batch | None = None) -> Batch:
    todo: Batch = (
        batch if batch is not None else await b.store.erasure.comment_batch(user_id, BATCH)
    )
    # The owner's comment item, and the mention item beside it if the
    # comment named them (a tombstone for an item that never was is harmless).
    await _untell(
        b,
        [
            (item_id, owner)
            for comment_id, _, owner in todo
            for item_id in (comment_id, owner_mention_id(comment_id))
        ],
    )
    await b.store.erasure.delete_comments([comment_id for comment_id, _, _ in todo])
    return todo


async def media_step(b: Backends, user_id: int, batch: Batch | None = None) -> Batch:
    """The account's posts: gone from every timeline, their caption mentions'
    activity items, every photo's image files, their tags (with the tags'
    counts), and the likes and comments on them."""
    todo: Batch = batch or []
    if batch is None:
        todo = [(m,) for m in await b.store.erasure.media_batch(user_id, MEDIA_BATCH)]
    # First what the posts left in anyone's inbox (others' comment mentions
    # on them), at most about one sweep batch per step: until none is left
    # the step returns the same posts undeleted, so the next step sweeps on.
    swept = 0
    for (media_id,) in todo:
        swept += len(await media_inbox_sweep(b, media_id))
        if swept >= BATCH:
            return todo
    if swept:
        return todo
    for (media_id,) in todo:
        for region in b.regions.values():
            await region.remove_media_from_timelines(media_id)
        # The caption's mention items in other users' inboxes; the mention
        # rows go after their items, so a repeated batch still finds them.
        mentioned = await b.store.media.caption_mentions(media_id)
        await _untell(b, [(activity_id, user_id) for user_id, activity_id in mentioned.items()])
        await b.store.media.forget_caption_mentions(media_id)
    # Every rendition of every photo a carousel may have: keys naming no
    # file are ignored, and the photo count is not worth a read per post.
    await b.blobs.delete([key for (media_id,) in todo for key in blob_keys(media_id, MAX_PHOTOS)])
    await b.store.erasure.delete_media(user_id, [media_id for (media_id,) in todo])
    return todo


async def _sweep(
    b: Backends,
    find: Callable[[RegionalStore], Awaitable[list[tuple[int, int]]]],
    batch: Batch | None,
) -> Batch:
    """One bounded batch of live inbox items found in each region by
    ``find`` (an index of live items), tombstoned; a batch is (inbox owner,
    item ID) pairs, empty when none is left."""
    found: list[tuple[RegionalStore, list[tuple[int, int]]]] = []
    todo: Batch = batch or []
    if batch is None:
        for region in b.regions.values():
            items = await find(region)
            if items:
                found.append((region, items))
        todo = [item for _, items in found for item in items]
    by_owner: dict[int, list[int]] = {}
    for owner, activity_id in todo:
        by_owner.setdefault(owner, []).append(activity_id)
    written: set[tuple[int, int]] = set()  # (id of the store, owner)

    async def tombstone(region: RegionalStore, owners: list[int]) -> None:
        await region.remove_activities([(o, i) for o in owners for i in by_owner[o]])
        written.update((id(region), o) for o in owners)

    # Through placement, so that an owner being moved gets the tombstones in
    # both stores (the move's double-write); not a placement read.
    await b.write_regional_many(list(by_owner), tombstone)
    # A row left in a store placement no longer routes its owner to (a move
    # not yet cleaned up) goes too, else every sweep would find it again.
    for region, items in found:
        leftover = [(o, i) for o, i in items if (id(region), o) not in written]
        await region.remove_activities(leftover)
    # After the tombstones: an unread count refilled now does not count them.
    await b.store.inbox_marks.inbox_changed(list(by_owner))
    return todo


async def inbox_step(b: Backends, user_id: int, batch: Batch | None = None) -> Batch:
    """Whatever the account caused in others' inboxes that the steps before
    left: above all the mention items of its comments for people other than
    the post's owner, whose IDs no stored row names. Each region's live items
    by the account, from its ``inbox_by_actor`` index, tombstoned in bounded
    batches; a batch is (inbox owner, item ID) pairs."""
    return await _sweep(b, lambda region: region.activity_by_actor(user_id, BATCH), batch)


async def media_inbox_sweep(b: Backends, media_id: int, batch: Batch | None = None) -> Batch:
    """Whatever a deleted post left in anyone's inbox, whoever caused it:
    above all the mention items of others' comments on it for third parties.
    Each region's live items about the post, from its
    ``inbox_for_media_removal`` index, in bounded batches as ``inbox_step``."""
    return await _sweep(b, lambda region: region.activity_for_media(media_id, BATCH), batch)


async def final_step(b: Backends, user_id: int) -> None:
    """The account's own timeline, inbox, avatar files, sessions and row."""
    avatar = await b.store.erasure.avatar_of_deleted(user_id)
    if avatar is not None:
        await b.blobs.delete(avatar_blob_keys(avatar))
    await b.write_regional(user_id, lambda r: r.delete_partition(user_id))
    await b.store.inbox_marks.forget(user_id)
    await b.store.timeline_marks.forget(user_id)
    await b.store.erasure.delete_account(user_id)


# The inbox sweep last: the steps before tombstone their items by ID (which
# also stops an add job running late), the sweep takes whatever is left.
STEPS = (following_step, follower_step, like_step, comment_step, media_step, inbox_step)


async def run(b: Backends, user_id: int, *, batches: int = BATCHES_PER_RUN) -> bool:
    """Carry the deletion on for at most ``batches`` batches; True when it
    is finished, else the continuation job has been enqueued."""
    done = 0
    for step in STEPS:
        while await step(b, user_id):
            done += 1
            if done >= batches:
                # Enqueued before this run's job completes: if this process
                # dies now, both run, which the batches allow.
                await b.store.queue.enqueue(
                    [jobs.account_deletion(b.next_id(), user_id)], b.clock_ms()
                )
                return False
    await final_step(b, user_id)
    return True
