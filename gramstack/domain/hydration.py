"""Hydration: turn stored IDs into the views the API returns, with the
per-viewer flags (``followed_by_me``, ``liked_by_me``) looked up in one
query per page rather than one per item.

Records and flags come through the lease cache: a page is one multi-get
(one round trip per cache server) and one store query for what missed.
Cached values are the records as MessagePack arrays (msgspec, compiled both
ways) with their creation time already formatted, under keys that carry the
schema version (``cache.keys``). Each worker decodes a given value once:
records are frozen, so equal bytes can share one record, and the API's
rendered JSON is memoized on the records (``api.serializers``).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

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


R = TypeVar("R", UserRecord, MediaRecord)


_ENCODER = msgspec.msgpack.Encoder()
# Per worker and kind, the records of a few hot pages; a hit skips the
# decode and the struct's construction (about 1 µs a record).
_DECODED = 2048
_decode_user = functools.lru_cache(maxsize=_DECODED)(msgspec.msgpack.Decoder(UserRecord).decode)
_decode_media = functools.lru_cache(maxsize=_DECODED)(msgspec.msgpack.Decoder(MediaRecord).decode)


def _encode(record: UserRecord | MediaRecord) -> bytes:
    if not record.created_at_text:
        text = format_timestamp(record.created_at)
        record = msgspec.structs.replace(record, created_at_text=text)
    return _ENCODER.encode(record)


async def _cached_records(
    b: Backends,
    ids: Sequence[int],
    key_of: Callable[[int], str],
    load: Callable[[list[int]], Awaitable[Mapping[int, R]]],
    decode: Callable[[bytes], R],
) -> dict[int, R]:
    by_key = {key_of(i): i for i in dict.fromkeys(ids)}
    if not by_key:
        return {}

    async def load_many(wanted: Sequence[str]) -> dict[str, bytes]:
        found = await load([by_key[k] for k in wanted])
        return {key_of(i): _encode(record) for i, record in found.items()}

    cached = await b.cache.get_many_or_load(list(by_key), load_many, b.limits.cache_ttl_s)
    return {by_key[k]: decode(v) for k, v in cached.items()}


async def user_records(
    b: Backends, user_ids: Sequence[int], viewer: int | None
) -> dict[int, UserRecord]:
    """Users with their counts, by ID; unknown IDs are left out."""

    async def load(ids: list[int]) -> Mapping[int, UserRecord]:
        return await b.store.accounts.users(ids, viewer=viewer)

    return await _cached_records(b, user_ids, keys.user_key, load, _decode_user)


async def media_records(
    b: Backends, media_ids: Sequence[int], viewer: int | None
) -> dict[int, MediaRecord]:
    """Media with their counts, by ID; deleted IDs are left out."""

    async def load(ids: list[int]) -> Mapping[int, MediaRecord]:
        return await b.store.media.media(ids, viewer=viewer)

    return await _cached_records(b, media_ids, keys.media_key, load, _decode_media)


def _flag(member: bool) -> bytes:
    return b"1" if member else b"0"


async def _users_and_flags(
    b: Backends,
    user_ids: Sequence[int],
    viewer: int | None,
    *,
    liked: Sequence[int] = (),
    followed: Sequence[int] = (),
) -> tuple[dict[int, UserRecord], set[int], set[int]]:
    """Users by ID, and which of ``liked`` (media) the viewer likes and which
    of ``followed`` (users) they follow, in one cache multi-get and at most
    one store query per kind for what missed.

    A flag is one cached b"1" or b"0" per (viewer, object) pair: a new like
    or follow evicts exactly one key, and "no" is cached like "yes", so a
    page seen twice asks the store nothing."""
    users = {keys.user_key(i): i for i in dict.fromkeys(user_ids)}
    likes: dict[str, int] = {}
    follows: dict[str, int] = {}
    if viewer is not None:
        likes = {keys.liked_key(viewer, m): m for m in dict.fromkeys(liked)}
        follows = {keys.follows_key(viewer, u): u for u in dict.fromkeys(followed)}
    if not (users or likes or follows):
        return {}, set(), set()

    async def load_many(wanted: Sequence[str]) -> dict[str, bytes]:
        loaded: dict[str, bytes] = {}
        missing_users = [users[k] for k in wanted if k in users]
        if missing_users:
            found = await b.store.accounts.users(missing_users, viewer=viewer)
            loaded.update({keys.user_key(i): _encode(r) for i, r in found.items()})
        missing_likes = [likes[k] for k in wanted if k in likes]
        if missing_likes and viewer is not None:
            yes = await b.store.reactions.liked_among(viewer, missing_likes)
            loaded.update({keys.liked_key(viewer, m): _flag(m in yes) for m in missing_likes})
        missing_follows = [follows[k] for k in wanted if k in follows]
        if missing_follows and viewer is not None:
            yes = await b.store.graph.followed_among(viewer, missing_follows)
            loaded.update({keys.follows_key(viewer, u): _flag(u in yes) for u in missing_follows})
        return loaded

    wanted = [*users, *likes, *follows]
    cached = await b.cache.get_many_or_load(wanted, load_many, b.limits.cache_ttl_s)
    found_users = {users[k]: _decode_user(v) for k, v in cached.items() if k in users}
    liked_ids = {likes[k] for k, v in cached.items() if v == b"1" and k in likes}
    followed_ids = {follows[k] for k, v in cached.items() if v == b"1" and k in follows}
    return found_users, liked_ids, followed_ids


async def followed_among(b: Backends, viewer: int, candidates: Sequence[int]) -> set[int]:
    _, _, followed = await _users_and_flags(b, (), viewer, followed=candidates)
    return followed


async def liked_among(b: Backends, viewer: int, media_ids: Sequence[int]) -> set[int]:
    _, liked, _ = await _users_and_flags(b, (), viewer, liked=media_ids)
    return liked


async def user_views(b: Backends, user_ids: Sequence[int], viewer: int | None) -> list[UserView]:
    users, _, followed = await _users_and_flags(b, user_ids, viewer, followed=user_ids)
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
    views, _ = await _media_views(b, media, viewer, owners_followed=False)
    return views


async def media_views_and_follows(
    b: Backends, media_ids: Sequence[int], viewer: int
) -> tuple[list[MediaView], set[int]]:
    """Views in the order given (deleted media dropped), and which of their
    owners the viewer follows (the feed's filter), the follows from the same
    multi-get as the owners and ``liked_by_me``."""
    found = await media_records(b, media_ids, viewer)
    media = [found[i] for i in media_ids if i in found]
    return await _media_views(b, media, viewer, owners_followed=True)


async def _media_views(
    b: Backends, media: Sequence[MediaRecord], viewer: int | None, *, owners_followed: bool
) -> tuple[list[MediaView], set[int]]:
    owner_ids = [m.owner_id for m in media]
    owners, liked, followed = await _users_and_flags(
        b,
        owner_ids,
        viewer,
        liked=[m.id for m in media],
        followed=[o for o in owner_ids if o != viewer] if owners_followed else (),
    )
    views = [MediaView(m, owners[m.owner_id], m.id in liked) for m in media if m.owner_id in owners]
    return views, followed


async def media_views_by_id(
    b: Backends, media_ids: Sequence[int], viewer: int | None
) -> list[MediaView]:
    """Views in the order given; IDs of deleted media are dropped."""
    found = await media_records(b, media_ids, viewer)
    return await media_views(b, [found[i] for i in media_ids if i in found], viewer)
