"""Hydration: turn stored IDs into the views the API returns, with the
per-viewer flags (``followed_by_me``, ``liked_by_me``) looked up in one
query per page rather than one per item.

Records and flags come through the lease cache: a page is one multi-get
(one round trip per cache server) per thing it must know first (posts and
their flags, then their owners) and one store query per kind for what
missed.

Cached values are the records as MessagePack arrays (msgspec, compiled both
ways) with their creation time already formatted, under keys that carry the
schema version (``cache.keys``). Each worker decodes a given value once:
records are frozen, so equal bytes can share one record, and the API's
rendered JSON is memoized on the records (``api.serializers``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import NamedTuple

import msgspec

from gramstack.cache import keys
from gramstack.domain.backends import Backends
from gramstack.domain.errors import NotFound, ValidationFailed
from gramstack.domain.models import MediaRecord, MediaView, UserRecord, UserView
from gramstack.domain.validation import normalize_username
from gramstack.speedups.timefmt import format_timestamp


async def user_id_for(b: Backends, username: str) -> int:
    """Usernames never change hands, so the mapping is safe to cache."""
    try:
        name = normalize_username(username)
    except ValidationFailed:
        raise NotFound("user", username) from None

    async def load() -> bytes | None:
        found = await b.store.accounts.user_id_by_username(name)
        return None if found is None else str(found).encode()

    cached = await b.cache.get_or_load(keys.username_key(name), load, b.limits.cache_ttl_s)
    if cached is None:
        raise NotFound("user", username)
    return int(cached)


_ENCODER = msgspec.msgpack.Encoder()
# Per worker and kind, the records of a few hot pages; a hit skips the
# decode and the struct's construction (about 1 µs a record).
_DECODED = 1024
_decode_user = functools.lru_cache(maxsize=_DECODED)(msgspec.msgpack.Decoder(UserRecord).decode)
_decode_media = functools.lru_cache(maxsize=_DECODED)(msgspec.msgpack.Decoder(MediaRecord).decode)


def _encode(record: UserRecord | MediaRecord) -> bytes:
    if not record.created_at_text:
        text = format_timestamp(record.created_at)
        record = msgspec.structs.replace(record, created_at_text=text)
    return _ENCODER.encode(record)


def _flag(member: bool) -> bytes:
    return b"1" if member else b"0"


_NONE: Mapping[str, int] = MappingProxyType({})


class _Found(NamedTuple):
    users: dict[int, UserRecord]
    media: dict[int, MediaRecord]
    liked: set[int]
    followed: set[int]


async def _lookup(
    b: Backends,
    viewer: int | None,
    *,
    users: Sequence[int] = (),
    media: Sequence[int] = (),
    liked: Sequence[int] = (),
    followed: Sequence[int] = (),
) -> _Found:
    """Users and media by ID (unknown ones left out), and which of
    ``liked`` (media) the viewer likes and which of ``followed`` (users)
    they follow: one cache multi-get, and at most one store query per kind
    for what missed.

    A flag is one cached b"1" or b"0" per (viewer, object) pair: a new like
    or follow evicts exactly one key, and "no" is cached like "yes", so a
    page seen twice asks the store nothing. The flags ride in the same
    multi-get as the records they go with (a post's ``liked_by_me`` with
    the post), so a page costs one round trip per thing it must know first."""
    # A page's owners repeat (twenty posts by a handful of accounts): each
    # key is made once. Its posts are distinct, and a repeat would only
    # overwrite its own entry.
    # (A key builder is a call of its own, even over nothing: the kinds a
    # call does not ask for are skipped.)
    user_keys = keys.user_keys(dict.fromkeys(users)) if users else _NONE
    media_keys = keys.media_keys(media) if media else _NONE
    like_keys = follow_keys = _NONE
    if viewer is not None:
        if liked:
            like_keys = keys.liked_keys(viewer, liked)
        if followed:
            follow_keys = keys.follows_keys(viewer, dict.fromkeys(followed))
    wanted = [*user_keys, *media_keys, *like_keys, *follow_keys]
    if not wanted:
        return _Found({}, {}, set(), set())

    async def load_many(missing: Sequence[str]) -> dict[str, bytes]:
        loaded: dict[str, bytes] = {}
        if missing_users := [user_keys[k] for k in missing if k in user_keys]:
            found = await b.store.accounts.users(missing_users, viewer=viewer)
            loaded.update({keys.user_key(i): _encode(r) for i, r in found.items()})
        if missing_media := [media_keys[k] for k in missing if k in media_keys]:
            posts = await b.store.media.media(missing_media, viewer=viewer)
            loaded.update({keys.media_key(i): _encode(r) for i, r in posts.items()})
        if viewer is None:
            return loaded
        if missing_likes := [like_keys[k] for k in missing if k in like_keys]:
            yes = await b.store.reactions.liked_among(viewer, missing_likes)
            loaded.update({keys.liked_key(viewer, m): _flag(m in yes) for m in missing_likes})
        if missing_follows := [follow_keys[k] for k in missing if k in follow_keys]:
            yes = await b.store.graph.followed_among(viewer, missing_follows)
            loaded.update({keys.follows_key(viewer, u): _flag(u in yes) for u in missing_follows})
        return loaded

    cached = await b.cache.get_many_or_load(wanted, load_many, b.limits.cache_ttl_s)
    # Loops in this frame: on Python 3.11 each comprehension is a call of
    # its own, as much as the loop's whole work for a one-post page.
    get = cached.get
    found = _Found({}, {}, set(), set())
    for k, i in user_keys.items():
        if (v := get(k)) is not None:
            found.users[i] = _decode_user(v)
    for k, i in media_keys.items():
        if (v := get(k)) is not None:
            found.media[i] = _decode_media(v)
    for k, i in like_keys.items():
        if get(k) == b"1":
            found.liked.add(i)
    for k, i in follow_keys.items():
        if get(k) == b"1":
            found.followed.add(i)
    return found


async def user_records(
    b: Backends, user_ids: Sequence[int], viewer: int | None
) -> dict[int, UserRecord]:
    """Users with their counts, by ID; unknown IDs are left out."""
    return (await _lookup(b, viewer, users=user_ids)).users


async def media_records(
    b: Backends, media_ids: Sequence[int], viewer: int | None
) -> dict[int, MediaRecord]:
    """Media with their counts, by ID; deleted IDs are left out."""
    return (await _lookup(b, viewer, media=media_ids)).media


async def followed_among(b: Backends, viewer: int, candidates: Sequence[int]) -> set[int]:
    return (await _lookup(b, viewer, followed=candidates)).followed


async def liked_among(b: Backends, viewer: int, media_ids: Sequence[int]) -> set[int]:
    return (await _lookup(b, viewer, liked=media_ids)).liked


async def user_views(b: Backends, user_ids: Sequence[int], viewer: int | None) -> list[UserView]:
    found = await _lookup(b, viewer, users=user_ids, followed=user_ids)
    users, followed = found.users, found.followed
    return [
        UserView(users[uid], None if viewer is None else uid in followed)
        for uid in user_ids
        if uid in users
    ]


async def user_view(b: Backends, user_id: int, viewer: int | None) -> UserView:
    views = await user_views(b, [user_id], viewer)
    if not views:
        raise NotFound("user", user_id)
    return views[0]


async def media_views(
    b: Backends, media: Sequence[MediaRecord], viewer: int | None
) -> list[MediaView]:
    """Views of records already read, with their owners and ``liked_by_me``."""
    owner_ids = [m.owner_id for m in media]
    found = await _lookup(b, viewer, users=owner_ids, liked=[m.id for m in media])
    return _views(media, found.users, found.liked)


def _views(
    media: Sequence[MediaRecord], owners: Mapping[int, UserRecord], liked: set[int]
) -> list[MediaView]:
    """A view of each post whose owner is known, in the order given."""
    # A loop, as in ``_lookup``: this runs for every post read.
    views: list[MediaView] = []
    for m in media:
        if (owner := owners.get(m.owner_id)) is not None:
            views.append(MediaView(m, owner, m.id in liked))
    return views


def _others(owner_ids: list[int], viewer: int | None, wanted: bool) -> list[int]:
    """The owners whose ``followed_by_me`` is asked for: none unless
    ``wanted``, and never the viewer."""
    return [o for o in owner_ids if o != viewer] if wanted else []


# A post's owner never changes and its ID is never reused, so each worker
# remembers the owners of the posts it has shown: a page seen before asks
# for its posts, their flags and their owners in one multi-get. Only a
# guess of which users to fetch: a post whose record names another owner
# (or one forgotten, the table is bounded) costs a second multi-get, never
# a wrong answer.
_OWNERS_REMEMBERED = 4096
_owner_of: dict[int, int] = {}


def _remember_owners(media: Sequence[MediaRecord]) -> None:
    for m in media:
        if m.id not in _owner_of and len(_owner_of) >= _OWNERS_REMEMBERED:
            del _owner_of[next(iter(_owner_of))]  # the oldest
        _owner_of[m.id] = m.owner_id


async def _media_views_by_id(
    b: Backends, media_ids: Sequence[int], viewer: int | None, *, owners_followed: bool
) -> tuple[list[MediaView], set[int]]:
    """Views in the order given (deleted media dropped), and, with
    ``owners_followed``, which of their owners the viewer follows."""
    # Loops, not comprehensions, as in ``_lookup``: this runs for every post
    # read, most often for a single one.
    known: dict[int, None] = {}
    remembered = _owner_of.get
    for i in media_ids:
        if (o := remembered(i)) is not None:
            known[o] = None
    owner_ids = list(known)
    found = await _lookup(
        b,
        viewer,
        media=media_ids,
        liked=media_ids,
        users=owner_ids,
        followed=_others(owner_ids, viewer, owners_followed),
    )
    posts, owners, followed = found.media, found.users, found.followed
    media: list[MediaRecord] = []
    unknown: dict[int, None] = {}
    for i in media_ids:
        if (m := posts.get(i)) is not None:
            media.append(m)
            if m.owner_id not in known:
                unknown[m.owner_id] = None
    if unknown:
        others = list(unknown)
        more = await _lookup(
            b, viewer, users=others, followed=_others(others, viewer, owners_followed)
        )
        owners = {**owners, **more.users}
        followed = followed | more.followed
        _remember_owners(media)
    return _views(media, owners, found.liked), followed


async def media_views_and_follows(
    b: Backends, media_ids: Sequence[int], viewer: int
) -> tuple[list[MediaView], set[int]]:
    """Views in the order given (deleted media dropped), and which of their
    owners the viewer follows (the feed's filter), the follows from the same
    multi-get as the owners."""
    return await _media_views_by_id(b, media_ids, viewer, owners_followed=True)


async def media_views_by_id(
    b: Backends, media_ids: Sequence[int], viewer: int | None
) -> list[MediaView]:
    """Views in the order given; IDs of deleted media are dropped."""
    views, _ = await _media_views_by_id(b, media_ids, viewer, owners_followed=False)
    return views
