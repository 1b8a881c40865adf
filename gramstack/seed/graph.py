"""A synthetic social graph shaped like a real one, generated in memory.

Who follows whom is drawn from a Zipf (power-law) popularity: the account
of popularity rank r is picked with weight 1/(r+1), so on 10,000 users the
top account is followed by nearly everyone and the median one by a handful,
as on Instagram. Posting activity and the likes and comments a post draws
are skewed the same way, more mildly. Everything comes from one seeded
``random.Random``: the same plan gives the same graph.

Rows are kept in ``array`` columns (8 bytes a value) rather than tuples, so
a graph of millions of edges fits in memory.
"""

from __future__ import annotations

import heapq
import itertools
import random
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from gramstack.domain.ids import EPOCH_MS, MAX_SHARD, SEQUENCE_BITS, compose_id

# The logical shard of every seeded ID. Servers lease the lowest free
# shard, so they mint on shard 0, 1, ... and never on this one; the seeded
# times all lie in the past as well.
SEED_SHARD = MAX_SHARD
# The sequence bits are split: the top ones tag the table, so that IDs of
# different tables never meet even in the same millisecond.
_TAG_BITS = 3
_RUN_BITS = SEQUENCE_BITS - _TAG_BITS
_MAX_RUN = (1 << _RUN_BITS) - 1
TAG_USER, TAG_FOLLOW, TAG_MEDIA, TAG_LIKE, TAG_COMMENT = range(5)

DAY_MS = 24 * 3600 * 1000
_COMMENTS = (
    "love this",
    "so good",
    "where is this?",
    "amazing light",
    "wow",
    "great shot",
    "take me there",
    "this made my day",
)
# (activity ID, type, actor ID, media ID or None, created at)
InboxItem = tuple[int, str, int, int | None, int]
_CAPTIONS = ("sunset", "coffee", "weekend", "city lights", "beach day", "", "hello", "friends")


@dataclass(frozen=True)
class SeedPlan:
    users: int = 10_000
    posts: int = 100_000
    likes: int = 100_000
    comments: int = 100_000
    follows_per_user: int = 30  # the mean; each user's count is drawn around it
    timeline_depth: int = 100  # newest posts kept in each user's home timeline
    inbox_depth: int = 50  # newest activity items kept in each user's inbox
    random_seed: int = 1
    span_days: int = 30  # posts, likes, comments and follows lie in this past window


@dataclass
class SeedGraph:
    """Column arrays, one set per table, each sorted by ID."""

    plan: SeedPlan
    now_ms: int
    image_width: int = 0  # of every post's (shared) picture
    image_height: int = 0
    user_ids: array[int] = field(default_factory=lambda: array("q"))
    user_created: array[int] = field(default_factory=lambda: array("q"))
    follow_ids: array[int] = field(default_factory=lambda: array("q"))
    follow_follower: array[int] = field(default_factory=lambda: array("q"))  # user index
    follow_followee: array[int] = field(default_factory=lambda: array("q"))
    follow_created: array[int] = field(default_factory=lambda: array("q"))
    media_ids: array[int] = field(default_factory=lambda: array("q"))
    media_owner: array[int] = field(default_factory=lambda: array("q"))  # user index
    media_created: array[int] = field(default_factory=lambda: array("q"))
    like_ids: array[int] = field(default_factory=lambda: array("q"))
    like_media: array[int] = field(default_factory=lambda: array("q"))  # media index
    like_user: array[int] = field(default_factory=lambda: array("q"))
    like_created: array[int] = field(default_factory=lambda: array("q"))
    comment_ids: array[int] = field(default_factory=lambda: array("q"))
    comment_media: array[int] = field(default_factory=lambda: array("q"))
    comment_author: array[int] = field(default_factory=lambda: array("q"))
    comment_created: array[int] = field(default_factory=lambda: array("q"))

    # -- the denormalized counters, counted from the rows above -----------

    def follower_counts(self) -> list[int]:
        return _count(self.follow_followee, self.plan.users)

    def following_counts(self) -> list[int]:
        return _count(self.follow_follower, self.plan.users)

    def media_counts(self) -> list[int]:
        return _count(self.media_owner, self.plan.users)

    def like_counts(self) -> list[int]:
        return _count(self.like_media, len(self.media_ids))

    def comment_counts(self) -> list[int]:
        return _count(self.comment_media, len(self.media_ids))

    # -- the regional store, as fan-out would have filled it --------------

    def timelines(self) -> Iterator[tuple[int, list[tuple[int, int]]]]:
        """(user index, [(media ID, author ID), ...] newest first), bounded by
        ``timeline_depth``: the user's own posts and those of everyone they
        follow, as fan-out on write puts them there."""
        depth = self.plan.timeline_depth
        by_author: list[list[tuple[int, int]]] = [[] for _ in range(self.plan.users)]
        for media_id, owner in zip(
            reversed(self.media_ids), reversed(self.media_owner), strict=True
        ):
            if len(by_author[owner]) < depth:
                by_author[owner].append((media_id, self.user_ids[owner]))
        followees: list[list[int]] = [[] for _ in range(self.plan.users)]
        for follower, followee in zip(self.follow_follower, self.follow_followee, strict=True):
            followees[follower].append(followee)
        for user in range(self.plan.users):
            sources = (by_author[a] for a in itertools.chain(followees[user], (user,)))
            yield user, heapq.nlargest(depth, itertools.chain.from_iterable(sources))

    def inboxes(self) -> Iterator[tuple[int, list[InboxItem]]]:
        """(user index, [(activity ID, type, actor ID, media ID, created), ...]
        newest first): new followers, and others' likes and comments on the
        user's media, the newest ``inbox_depth`` of them."""
        items: list[list[InboxItem]] = [[] for _ in range(self.plan.users)]
        ids, owners, media_ids = self.user_ids, self.media_owner, self.media_ids
        for i, follower, followee, created in zip(
            self.follow_ids,
            self.follow_follower,
            self.follow_followee,
            self.follow_created,
            strict=True,
        ):
            items[followee].append((i, "follow", ids[follower], None, created))
        for kind, act_ids, act_media, actors, times in (
            ("like", self.like_ids, self.like_media, self.like_user, self.like_created),
            (
                "comment",
                self.comment_ids,
                self.comment_media,
                self.comment_author,
                self.comment_created,
            ),
        ):
            for i, media, actor, created in zip(act_ids, act_media, actors, times, strict=True):
                owner = owners[media]
                if owner != actor:
                    items[owner].append((i, kind, ids[actor], media_ids[media], created))
        for user in range(self.plan.users):
            yield user, heapq.nlargest(self.plan.inbox_depth, items[user])


def _count(column: Sequence[int], size: int) -> list[int]:
    counts = [0] * size
    for value in column:
        counts[value] += 1
    return counts


def username(index: int) -> str:
    return f"user{index}"


def caption(index: int) -> str:
    return _CAPTIONS[index % len(_CAPTIONS)]


def comment_text(index: int) -> str:
    return _COMMENTS[index % len(_COMMENTS)]


def _zipf_cum_weights(n: int, exponent: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank + 1) ** exponent for rank in range(n)))


def _assign_ids(times: array[int], tag: int) -> tuple[array[int], array[int]]:
    """Sort ``times`` and mint one ID per time on the seed shard; returns
    (IDs, the order that sorts the rows)."""
    order = sorted(range(len(times)), key=times.__getitem__)
    ids = array("q", bytes(8 * len(times)))
    last_ms, run = -1, 0
    for position, row in enumerate(order):
        ms = max(times[row] - EPOCH_MS, last_ms)
        if ms == last_ms:
            run += 1
            if run > _MAX_RUN:
                ms, run = ms + 1, 0
        else:
            run = 0
        last_ms = ms
        ids[position] = compose_id(ms, SEED_SHARD, (tag << _RUN_BITS) | run)
    return ids, array("q", order)


def _permute(column: array[int], order: array[int]) -> array[int]:
    return array("q", (column[i] for i in order))


def generate(plan: SeedPlan, now_ms: int) -> SeedGraph:
    if plan.users < 2:
        raise ValueError("a social graph needs at least 2 users")
    rng = random.Random(plan.random_seed)
    g = SeedGraph(plan, now_ms)
    end = now_ms - 60_000  # a minute back: the server's own IDs come after
    start = end - plan.span_days * DAY_MS
    n = plan.users

    # Users joined before the window opened; user i gets the i-th ID so that
    # "user42" is the 43rd account, whatever its popularity.
    rand = rng.random  # randrange costs three times as much, and it adds up to minutes
    joined = DAY_MS * 30
    g.user_created = array("q", sorted(start - 1 - int(rand() * joined) for _ in range(n)))
    g.user_ids, _ = _assign_ids(g.user_created, TAG_USER)

    # Popularity ranks are shuffled over the users, so that low user numbers
    # (which a benchmark signs in as) are ordinary accounts, not celebrities.
    by_rank = list(range(n))
    rng.shuffle(by_rank)
    popularity = _zipf_cum_weights(n, 1.0)
    most = max(1, (n - 1) // 2)
    followers, followees = array("q"), array("q")
    for user in range(n):
        wanted = min(most, max(1, round(rng.expovariate(1 / plan.follows_per_user))))
        chosen: set[int] = set()
        for _ in range(20):  # the tail is rare; give up on the last few rather than spin
            for rank in rng.choices(range(n), cum_weights=popularity, k=wanted - len(chosen)):
                target = by_rank[rank]
                if target != user:
                    chosen.add(target)
            if len(chosen) >= wanted:
                break
        for target in sorted(chosen):
            followers.append(user)
            followees.append(target)
    span = end - start
    times = array("q", (start + int(rand() * span) for _ in range(len(followers))))
    g.follow_ids, order = _assign_ids(times, TAG_FOLLOW)
    g.follow_follower = _permute(followers, order)
    g.follow_followee = _permute(followees, order)
    g.follow_created = _permute(times, order)

    activity_rank = list(range(n))
    rng.shuffle(activity_rank)
    activity = _zipf_cum_weights(n, 0.5)
    owners = array(
        "q", (activity_rank[r] for r in rng.choices(range(n), cum_weights=activity, k=plan.posts))
    )
    times = array("q", (start + int(rand() * span) for _ in range(plan.posts)))
    g.media_ids, order = _assign_ids(times, TAG_MEDIA)
    g.media_owner = _permute(owners, order)
    g.media_created = _permute(times, order)

    if plan.posts:
        _reactions(g, rng, end)
    return g


def _reactions(g: SeedGraph, rng: random.Random, end: int) -> None:
    """Likes (one per user and media at most) and comments, skewed towards
    some posts, each after the post it reacts to."""
    posts, n = len(g.media_ids), g.plan.users
    rand = rng.random
    appeal = list(range(posts))
    rng.shuffle(appeal)
    weights = _zipf_cum_weights(posts, 0.8)
    pairs: set[tuple[int, int]] = set()
    wanted = min(g.plan.likes, posts * n)
    while len(pairs) < wanted:
        for rank in rng.choices(range(posts), cum_weights=weights, k=wanted - len(pairs)):
            pairs.add((appeal[rank], int(rand() * n)))
    like_media = array("q", (m for m, _ in pairs))
    like_user = array("q", (u for _, u in pairs))
    created = g.media_created
    times = array("q", (created[m] + int(rand() * (end - created[m])) for m in like_media))
    g.like_ids, order = _assign_ids(times, TAG_LIKE)
    g.like_media = _permute(like_media, order)
    g.like_user = _permute(like_user, order)
    g.like_created = _permute(times, order)

    comment_media = array(
        "q", (appeal[r] for r in rng.choices(range(posts), cum_weights=weights, k=g.plan.comments))
    )
    authors = array("q", (int(rand() * n) for _ in range(g.plan.comments)))
    times = array("q", (created[m] + int(rand() * (end - created[m])) for m in comment_media))
    g.comment_ids, order = _assign_ids(times, TAG_COMMENT)
    g.comment_media = _permute(comment_media, order)
    g.comment_author = _permute(authors, order)
    g.comment_created = _permute(times, order)
