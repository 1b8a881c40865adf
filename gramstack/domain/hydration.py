"""Hydration: turn stored IDs into the views the API returns, with the
per-viewer flags (``followed_by_me``, ``liked_by_me``) looked up in one
query per page rather than one per item.

Records and flags come through the lease cache: a page is one multi-get
(one round trip per cache server) and one store query for what missed.
Cached values are the records' fields as a JSON array, under keys that carry
the schema version (``cache.keys``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import fields
from typing import TypeVar

from gramstack.cache import keys
from gramstack.domain.backends import Backends
from gramstack.domain.errors import NotFound, ValidationFailed
from gramstack.domain.models import MediaRecord, MediaView, UserRecord, UserView
from gramstack.domain.validation import normalize_username


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


def _encode(record: UserRecord | MediaRecord) -> bytes:
    return json.dumps([getattr(record, f.name) for f in fields(record)]).encode()


async def _cached_records(
    b: Backends,
    ids: Sequence[int],
    key_of: Callable[[int], str],
    load: Callable[[list[int]], Awaitable[Mapping[int, R]]],
    record_type: type[R],
) -> dict[int, R]:
    by_key = {key_of(i): i for i in dict.fromkeys(ids)}
    if not by_key:
        return {}

    async def load_many(wanted: Sequence[str]) -> dict[str, bytes]:
        found = await load([by_key[k] for k in wanted])
        return {key_of(i): _encode(record) for i, record in found.items()}

    cached = await b.cache.get_many_or_load(list(by_key), load_many, b.limits.cache_ttl_s)
    return {by_key[k]: record_type(*json.loads(v)) for k, v in cached.items()}


async def user_records(
    b: Backends, user_ids: Sequence[int], viewer: int | None
) -> dict[int, UserRecord]:
    """Users with their counts, by ID; unknown IDs are left out."""

    async def load(ids: list[int]) -> Mapping[int, UserRecord]:
        return await b.store.accounts.users(ids, viewer=viewer)

    return await _cached_records(b, user_ids, keys.user_key, load, UserRecord)


async def media_records(
    b: Backends, media_ids: Sequence[int], viewer: int | None
) -> dict[int, MediaRecord]:
    """Media with their counts, by ID; deleted IDs are left out."""

    async def load(ids: list[int]) -> Mapping[int, MediaRecord]:
        return await b.store.media.media(ids, viewer=viewer)

    return await _cached_records(b, media_ids, keys.media_key, load, MediaRecord)


async def _members(
    b: Backends,
    candidates: Sequence[int],
    key_of: Callable[[int], str],
    load: Callable[[list[int]], Awaitable[set[int]]],
) -> set[int]:
    """Which candidates are in a set (followed, liked): one cached b"1" or
    b"0" per pair, so a new follow or like evicts exactly one key."""
    by_key = {key_of(c): c for c in dict.fromkeys(candidates)}
    if not by_key:
        return set()

    async def load_many(wanted: Sequence[str]) -> dict[str, bytes]:
        found = await load([by_key[k] for k in wanted])
        return {k: b"1" if by_key[k] in found else b"0" for k in wanted}

    cached = await b.cache.get_many_or_load(list(by_key), load_many, b.limits.cache_ttl_s)
    return {by_key[k] for k, v in cached.items() if v == b"1"}


async def followed_among(b: Backends, viewer: int, candidates: Sequence[int]) -> set[int]:
    async def load(ids: list[int]) -> set[int]:
        return await b.store.graph.followed_among(viewer, ids)

    return await _members(b, candidates, lambda c: keys.follows_key(viewer, c), load)


async def liked_among(b: Backends, viewer: int, media_ids: Sequence[int]) -> set[int]:
    async def load(ids: list[int]) -> set[int]:
        return await b.store.reactions.liked_among(viewer, ids)

    return await _members(b, media_ids, lambda m: keys.liked_key(viewer, m), load)


async def user_views(b: Backends, user_ids: Sequence[int], viewer: int | None) -> list[UserView]:
    users = await user_records(b, user_ids, viewer)
    followed: set[int] = set()
    if viewer is not None:
        followed = await followed_among(b, viewer, list(users))
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
    owners = await user_records(b, [m.owner_id for m in media], viewer)
    liked: set[int] = set()
    if viewer is not None:
        liked = await liked_among(b, viewer, [m.id for m in media])
    return [MediaView(m, owners[m.owner_id], m.id in liked) for m in media if m.owner_id in owners]


async def media_views_by_id(
    b: Backends, media_ids: Sequence[int], viewer: int | None
) -> list[MediaView]:
    """Views in the order given; IDs of deleted media are dropped."""
    found = await media_records(b, media_ids, viewer)
    return await media_views(b, [found[i] for i in media_ids if i in found], viewer)
