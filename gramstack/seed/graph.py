"""A synthetic social graph shaped like a real one, generated in memory.

Who follows whom is drawn from a Zipf (power-law) popularity: the account
of popularity rank r is picked with weight 1/(r+1), so on 10,000 users the
top account is followed by nearly everyone and the median one by a handful,
as on Instagram. Posting activity and the likes and comments a post draws
are skewed the same way, more mildly. Everything comes from one seeded
numpy generator: the same plan gives the same graph.

Every table is a set of numpy column arrays and every step is an array
operation (sampling, sorting, de-duplicating, ranking): a graph of tens of
millions of edges is generated in seconds, where a per-row Python loop took
minutes. The draws that decide how many accounts user i follows come first
from a stream of their own, so user i follows as many accounts whatever the
graph's size (a benchmark comparing sizes reads comparable feeds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from gramstack.domain.ids import EPOCH_MS, MAX_SHARD, SEQUENCE_BITS, SHARD_BITS

Column = npt.NDArray[np.int64]

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
INBOX_TYPES = ("follow", "like", "comment")
_CAPTIONS = ("sunset", "coffee", "weekend", "city lights", "beach day", "", "hello", "friends")
# Candidate timeline rows expanded at once: bounds the memory of a chunk.
_CANDIDATES_PER_CHUNK = 4_000_000
# Rounds of re-drawing for users (or posts) short of distinct picks; the
# tail is rare, so the last few are given up on rather than spun for.
_TOP_UP_ROUNDS = 20


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


def _empty() -> Column:
    return np.zeros(0, dtype=np.int64)


@dataclass
class TimelineRows:
    """A run of ``timeline`` rows in primary-key order (user, newest first)."""

    user_ids: Column
    media_ids: Column
    author_ids: Column


@dataclass
class InboxRows:
    """``inbox`` rows in primary-key order (user, newest first); ``types``
    index :data:`INBOX_TYPES`, ``media_ids`` is -1 where there is none."""

    user_ids: Column
    ids: Column
    types: npt.NDArray[np.int8]
    actor_ids: Column
    media_ids: Column
    created: Column


@dataclass
class SeedGraph:
    """Column arrays, one set per table, each sorted by ID. Columns named
    after a table (``follow_follower``, ``like_media``, ...) hold row
    indexes into that table (user index, media index), not IDs."""

    plan: SeedPlan
    now_ms: int
    image_width: int = 0  # of every post's (shared) picture
    image_height: int = 0
    user_ids: Column = field(default_factory=_empty)
    user_created: Column = field(default_factory=_empty)
    follow_ids: Column = field(default_factory=_empty)
    follow_follower: Column = field(default_factory=_empty)  # user index
    follow_followee: Column = field(default_factory=_empty)
    follow_created: Column = field(default_factory=_empty)
    # The follows' rows in (follower, followee) order, if generate() kept it.
    follow_by_follower: Column = field(default_factory=_empty)
    media_ids: Column = field(default_factory=_empty)
    media_owner: Column = field(default_factory=_empty)  # user index
    media_created: Column = field(default_factory=_empty)
    like_ids: Column = field(default_factory=_empty)
    like_media: Column = field(default_factory=_empty)  # media index
    like_user: Column = field(default_factory=_empty)
    like_created: Column = field(default_factory=_empty)
    comment_ids: Column = field(default_factory=_empty)
    comment_media: Column = field(default_factory=_empty)
    comment_author: Column = field(default_factory=_empty)
    comment_created: Column = field(default_factory=_empty)

    # -- the denormalized counters, counted from the rows above -----------

    def follower_counts(self) -> Column:
        return _count(self.follow_followee, self.plan.users)

    def following_counts(self) -> Column:
        return _count(self.follow_follower, self.plan.users)

    def media_counts(self) -> Column:
        return _count(self.media_owner, self.plan.users)

    def like_counts(self) -> Column:
        return _count(self.like_media, len(self.media_ids))

    def comment_counts(self) -> Column:
        return _count(self.comment_media, len(self.media_ids))

    # -- the regional store, as fan-out would have filled it --------------

    def timeline_rows(self) -> Iterator[TimelineRows]:
        """Every user's home timeline, bounded by ``timeline_depth``: the
        newest posts of the user and of everyone they follow, as fan-out on
        write puts them there; in runs of whole users, in key order."""
        n, depth, posts = self.plan.users, self.plan.timeline_depth, len(self.media_ids)
        if not posts or depth <= 0:
            return
        # Only an author's newest ``depth`` posts can make anyone's timeline;
        # by_author lists each author's posts together, newest first.
        by_author = np.argsort(self.media_owner * posts + (posts - 1 - np.arange(posts)))
        per_author = _count(self.media_owner, n)
        author_start = np.cumsum(per_author) - per_author
        kept = np.minimum(per_author, depth)
        # The accounts each user reads, grouped by user: their followees
        # (and, added per chunk, themselves).
        by_follower = self.follow_by_follower
        if len(by_follower) != len(self.follow_ids):
            by_follower = np.argsort(self.follow_follower, kind="stable")
        edge_user = self.follow_follower[by_follower]
        edge_author = self.follow_followee[by_follower]
        edge_end = np.cumsum(_count(self.follow_follower, n))
        # Candidate rows per user, to cut the users into chunks of bounded size.
        candidates = kept + np.bincount(
            self.follow_follower, weights=kept[self.follow_followee], minlength=n
        ).astype(np.int64)
        ends = np.cumsum(candidates)
        first = 0
        while first < n:
            before = int(ends[first - 1]) if first else 0
            last = int(np.searchsorted(ends, before + _CANDIDATES_PER_CHUNK, side="right"))
            last = min(max(last, first + 1), n)
            edges = slice(int(edge_end[first - 1]) if first else 0, int(edge_end[last - 1]))
            yield self._timeline_chunk(
                first,
                last,
                edge_user[edges],
                edge_author[edges],
                (by_author, author_start, kept),
            )
            first = last

    def _timeline_chunk(
        self,
        first: int,
        last: int,
        edge_user: Column,
        edge_author: Column,
        authors: tuple[Column, Column, Column],
    ) -> TimelineRows:
        by_author, author_start, kept = authors
        depth, posts = self.plan.timeline_depth, len(self.media_ids)
        own = np.arange(first, last)
        user = np.concatenate((edge_user, own))
        author = np.concatenate((edge_author, own))
        take = kept[author]
        total = int(take.sum())
        row = np.repeat(np.arange(len(user)), take)
        within = np.arange(total) - np.repeat(np.cumsum(take) - take, take)
        media = by_author[author_start[author[row]] + within]
        # One sort puts each user's candidates together, newest first.
        key = np.sort((user[row] - first) * posts + (posts - 1 - media))
        local, media = np.divmod(key, posts)
        media = posts - 1 - media
        rank = _rank_in_runs(local)
        keep = rank < depth
        local, media = local[keep], media[keep]
        return TimelineRows(
            self.user_ids[local + first],
            self.media_ids[media],
            self.user_ids[self.media_owner[media]],
        )

    def inbox_rows(self) -> InboxRows:
        """New followers, and others' likes and comments on the user's
        media, the newest ``inbox_depth`` of them per user."""
        owners = self.media_owner
        own_like = owners[self.like_media] == self.like_user
        own_comment = owners[self.comment_media] == self.comment_author
        like_rows = np.flatnonzero(~own_like)
        comment_rows = np.flatnonzero(~own_comment)
        recipient = np.concatenate(
            (
                self.follow_followee,
                owners[self.like_media[like_rows]],
                owners[self.comment_media[comment_rows]],
            )
        )
        ids = np.concatenate(
            (self.follow_ids, self.like_ids[like_rows], self.comment_ids[comment_rows])
        )
        types = np.concatenate(
            (
                np.zeros(len(self.follow_ids), np.int8),
                np.ones(len(like_rows), np.int8),
                np.full(len(comment_rows), 2, np.int8),
            )
        )
        actor = np.concatenate(
            (self.follow_follower, self.like_user[like_rows], self.comment_author[comment_rows])
        )
        media = np.concatenate(
            (
                np.full(len(self.follow_ids), -1, np.int64),
                self.like_media[like_rows],
                self.comment_media[comment_rows],
            )
        )
        created = np.concatenate(
            (self.follow_created, self.like_created[like_rows], self.comment_created[comment_rows])
        )
        # Newest first within each user: one sort of (user, rank of the ID
        # from the newest) as one number.
        by_id = np.argsort(-ids)
        newness = np.empty(len(ids), dtype=np.int64)
        newness[by_id] = np.arange(len(ids))
        key = np.sort(recipient * max(1, len(ids)) + newness)
        recipient, order = np.divmod(key, max(1, len(ids)))
        keep = _rank_in_runs(recipient) < self.plan.inbox_depth
        recipient, order = recipient[keep], by_id[order[keep]]
        media = media[order]
        return InboxRows(
            self.user_ids[recipient],
            ids[order],
            types[order],
            self.user_ids[actor[order]],
            np.where(media >= 0, self.media_ids[media], -1) if len(self.media_ids) else media,
            created[order],
        )

    # -- the same, per user, for tests and small tools ---------------------

    def timelines(self) -> Iterator[tuple[int, list[tuple[int, int]]]]:
        """(user index, [(media ID, author ID), ...] newest first) for every user."""
        index = {int(u): i for i, u in enumerate(self.user_ids)}
        entries: list[list[tuple[int, int]]] = [[] for _ in range(self.plan.users)]
        for rows in self.timeline_rows():
            for user, media, author in zip(
                rows.user_ids.tolist(),
                rows.media_ids.tolist(),
                rows.author_ids.tolist(),
                strict=True,
            ):
                entries[index[user]].append((media, author))
        yield from enumerate(entries)

    def inboxes(self) -> Iterator[tuple[int, list[InboxItem]]]:
        """(user index, [(activity ID, type, actor ID, media ID, created), ...]
        newest first) for every user."""
        index = {int(u): i for i, u in enumerate(self.user_ids)}
        items: list[list[InboxItem]] = [[] for _ in range(self.plan.users)]
        rows = self.inbox_rows()
        for user, ident, kind, actor, media, created in zip(
            rows.user_ids.tolist(),
            rows.ids.tolist(),
            rows.types.tolist(),
            rows.actor_ids.tolist(),
            rows.media_ids.tolist(),
            rows.created.tolist(),
            strict=True,
        ):
            items[index[user]].append(
                (ident, INBOX_TYPES[kind], actor, None if media < 0 else media, created)
            )
        yield from enumerate(items)


def _rank_in_runs(ordered: Column) -> Column:
    """Each element's position within its run of equal values."""
    if not len(ordered):
        return ordered
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    sizes = np.diff(np.append(starts, len(ordered)))
    return np.arange(len(ordered)) - np.repeat(starts, sizes)


def _count(column: Column, size: int) -> Column:
    return np.bincount(column, minlength=size).astype(np.int64)


def username(index: int) -> str:
    return f"user{index}"


def full_name(index: int) -> str:
    return f"User {index}"


def caption(index: int) -> str:
    return _CAPTIONS[index % len(_CAPTIONS)]


def captions(indexes: Column) -> list[str]:
    return np.array(_CAPTIONS, dtype=object)[indexes % len(_CAPTIONS)].tolist()  # type: ignore[no-any-return]


def comment_text(index: int) -> str:
    return _COMMENTS[index % len(_COMMENTS)]


def comment_texts(indexes: Column) -> list[str]:
    return np.array(_COMMENTS, dtype=object)[indexes % len(_COMMENTS)].tolist()  # type: ignore[no-any-return]


class _Zipf:
    """Draws ranks 0 .. n-1 with weight 1 / (rank + 1) ** exponent."""

    def __init__(self, n: int, exponent: float) -> None:
        weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
        self._p = weights / weights.sum()
        self._ranks = np.arange(n, dtype=np.int64)

    def draw(self, rng: np.random.Generator, k: int) -> Column:
        # How many of the k draws fall on each rank, then those ranks in a
        # random order: independent draws, as an inverse-CDF search per draw
        # would give, without its cache misses (5x faster at 20M draws).
        ranks = np.repeat(self._ranks, rng.multinomial(k, self._p))
        rng.shuffle(ranks)
        return ranks


def _argsort(values: Column) -> Column:
    """np.argsort, as one sort of (value, index) packed into an int64 where
    they fit (a plain sort is about twice as fast as an argsort)."""
    if not len(values):
        return values
    low = int(values.min())
    bits = len(values).bit_length()
    if int(values.max()) - low >= 1 << (62 - bits):
        return np.argsort(values)
    packed = np.sort(((values - low) << bits) | np.arange(len(values), dtype=np.int64))
    return packed & ((1 << bits) - 1)


def _assign_ids(times: Column, tag: int) -> tuple[Column, Column]:
    """Sort ``times`` and mint one ID per time on the seed shard; returns
    (IDs, the order that sorts the rows). Within a millisecond the run
    counts up; a full millisecond spills into the next one, as the server's
    generator does."""
    order = _argsort(times)
    # Each ID's (ms, run) as one number, which must rise strictly and lie
    # at or after its time: slot[i] = max(lowest[i], slot[i-1] + 1), i.e.
    # i + the running maximum of (lowest - i).
    lowest = (times[order] - EPOCH_MS) << _RUN_BITS
    position = np.arange(len(order), dtype=np.int64)
    slot = position + np.maximum.accumulate(lowest - position)
    ms, run = slot >> _RUN_BITS, slot & _MAX_RUN
    ids = (
        (ms << (SHARD_BITS + SEQUENCE_BITS))
        | (SEED_SHARD << SEQUENCE_BITS)
        | (tag << _RUN_BITS)
        | run
    )
    return ids.astype(np.int64), order.astype(np.int64)


def _sorted_unique(values: Column) -> Column:
    # Not np.unique: numpy 2.4's takes tens of seconds on a few million
    # int64 (a hash table), where a sort takes a quarter of a second.
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def _known(sorted_keys: Column, values: Column) -> npt.NDArray[np.bool_]:
    if not len(sorted_keys):
        return np.zeros(len(values), dtype=np.bool_)
    at = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return sorted_keys[at] == values  # type: ignore[no-any-return]


def _distinct_pairs(
    wanted: Column,
    pick: Column,
    draw: Callable[[int], Column],
    width: int,
    *,
    allow_self: bool,
) -> Column:
    """Sorted distinct ``a * width + b`` keys: for each ``a``, ``wanted[a]``
    distinct ``b`` from ``pick[draw(count)]``, re-drawn where duplicates (or,
    unless ``allow_self``, ``b == a``) fell out."""
    firsts = np.arange(len(wanted), dtype=np.int64)
    keys = _empty()
    extra = _empty()  # the re-drawn keys: few, kept apart so each round is cheap
    have = np.zeros(len(wanted), dtype=np.int64)
    short = wanted
    for round_number in range(_TOP_UP_ROUNDS):
        a = np.repeat(firsts, short)
        b = pick[draw(len(a))]
        new = a * width + b
        if not allow_self:
            new = new[a != b]
        new = _sorted_unique(new)
        if round_number == 0:
            keys = new
        else:
            new = new[~_known(keys, new) & ~_known(extra, new)]
            extra = np.sort(np.concatenate((extra, new)))
        have += np.bincount(new // width, minlength=len(wanted))
        short = wanted - have
        if not short.any():
            break
    return np.sort(np.concatenate((keys, extra))) if len(extra) else keys


def generate(plan: SeedPlan, now_ms: int) -> SeedGraph:
    if plan.users < 2:
        raise ValueError("a social graph needs at least 2 users")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(plan.random_seed).spawn(8)]
    counts_rng, rng = streams[0], streams[1]
    g = SeedGraph(plan, now_ms)
    end = now_ms - 60_000  # a minute back: the server's own IDs come after
    start = end - plan.span_days * DAY_MS
    span = end - start
    n = plan.users

    # How many accounts each user follows: drawn first, from a stream of its
    # own, so user i's number does not depend on the graph's size.
    most = max(1, (n - 1) // 2)
    following = np.clip(np.rint(counts_rng.exponential(plan.follows_per_user, n)), 1, most)

    # Users joined before the window opened; user i gets the i-th ID so that
    # "user42" is the 43rd account, whatever its popularity.
    joined = DAY_MS * 30
    g.user_created = np.sort(start - 1 - (rng.random(n) * joined).astype(np.int64))
    g.user_ids, _ = _assign_ids(g.user_created, TAG_USER)

    # Popularity ranks are shuffled over the users, so that low user numbers
    # (which a benchmark signs in as) are ordinary accounts, not celebrities.
    by_rank = rng.permutation(n).astype(np.int64)
    popularity = _Zipf(n, 1.0)
    edges = _distinct_pairs(
        following.astype(np.int64),
        by_rank,
        lambda k: popularity.draw(rng, k),
        n,
        allow_self=False,
    )
    followers, followees = np.divmod(edges, n)
    times = start + (rng.random(len(edges)) * span).astype(np.int64)
    g.follow_ids, order = _assign_ids(times, TAG_FOLLOW)
    g.follow_follower = followers[order]
    g.follow_followee = followees[order]
    g.follow_created = times[order]
    # order maps ID order to (follower, followee) order; its inverse the other way.
    g.follow_by_follower = np.empty_like(order)
    g.follow_by_follower[order] = np.arange(len(order))

    activity_rank = rng.permutation(n).astype(np.int64)
    owners = activity_rank[_Zipf(n, 0.5).draw(rng, plan.posts)]
    times = start + (rng.random(plan.posts) * span).astype(np.int64)
    g.media_ids, order = _assign_ids(times, TAG_MEDIA)
    g.media_owner = owners[order]
    g.media_created = times[order]

    if plan.posts:
        _reactions(g, rng, end)
    return g


def _reactions(g: SeedGraph, rng: np.random.Generator, end: int) -> None:
    """Likes (one per user and media at most) and comments, skewed towards
    some posts, each after the post it reacts to."""
    posts, n = len(g.media_ids), g.plan.users
    appeal = rng.permutation(posts).astype(np.int64)
    drawing = _Zipf(posts, 0.8)
    wanted = min(g.plan.likes, posts * n)
    # Likes as distinct (user, media) pairs: each user likes a number of
    # posts (spread evenly, like the uniform pick of a liker), which are
    # drawn by appeal.
    per_user = np.bincount(rng.integers(0, n, wanted), minlength=n).astype(np.int64)
    per_user = np.minimum(per_user, posts)
    pairs = _distinct_pairs(
        per_user, appeal, lambda k: drawing.draw(rng, k), posts, allow_self=True
    )
    like_user, like_media = np.divmod(pairs, posts)
    # A user short of distinct posts after the re-draws leaves a few likes
    # out; give them to the users with room, one each, so the total is
    # exactly the plan's.
    missing = wanted - len(pairs)
    if missing:
        like_user, like_media = _fill_likes(rng, like_user, like_media, missing, n, posts)
    created = g.media_created
    times = created[like_media] + (
        rng.random(len(like_media)) * (end - created[like_media])
    ).astype(np.int64)
    g.like_ids, order = _assign_ids(times, TAG_LIKE)
    g.like_media = like_media[order]
    g.like_user = like_user[order]
    g.like_created = times[order]

    comment_media = appeal[drawing.draw(rng, g.plan.comments)]
    authors = rng.integers(0, n, g.plan.comments).astype(np.int64)
    times = created[comment_media] + (
        rng.random(g.plan.comments) * (end - created[comment_media])
    ).astype(np.int64)
    g.comment_ids, order = _assign_ids(times, TAG_COMMENT)
    g.comment_media = comment_media[order]
    g.comment_author = authors[order]
    g.comment_created = times[order]


def _fill_likes(
    rng: np.random.Generator,
    like_user: Column,
    like_media: Column,
    missing: int,
    n: int,
    posts: int,
) -> tuple[Column, Column]:
    taken = set(zip(like_user.tolist(), like_media.tolist(), strict=True))
    extra_user: list[int] = []
    extra_media: list[int] = []
    while len(extra_user) < missing:
        user, media = int(rng.integers(0, n)), int(rng.integers(0, posts))
        if (user, media) not in taken:
            taken.add((user, media))
            extra_user.append(user)
            extra_media.append(media)
    return (
        np.concatenate((like_user, np.array(extra_user, np.int64))),
        np.concatenate((like_media, np.array(extra_media, np.int64))),
    )


def explore_scores(created: Column, likes: Column, comments: Column) -> npt.NDArray[np.float64]:
    """``storage.media.explore_score`` over columns."""
    return np.log2(1.0 + likes + 2.0 * comments) + created / 86_400_000
