"""Hydration: turn stored IDs into the views the API returns, with the
per-viewer flags (``followed_by_me``, ``liked_by_me``) looked up in one
query per page rather than one per item."""

from __future__ import annotations

from collections.abc import Sequence

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
        found = await b.store.user_id_by_username(name)
        return None if found is None else str(found).encode()

    cached = await b.cache.get_or_load(keys.username_key(name), load, b.limits.cache_ttl_s)
    if cached is None:
        raise NotFound("user", username)
    return int(cached)


async def user_views(b: Backends, user_ids: Sequence[int], viewer: int | None) -> list[UserView]:
    users = await b.store.users(user_ids, viewer=viewer)
    followed: set[int] = set()
    if viewer is not None:
        followed = await b.store.followed_among(viewer, list(users))
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
    owners = await b.store.users([m.owner_id for m in media], viewer=viewer)
    liked: set[int] = set()
    if viewer is not None:
        liked = await b.store.liked_among(viewer, [m.id for m in media])
    return [MediaView(m, owners[m.owner_id], m.id in liked) for m in media if m.owner_id in owners]


async def media_views_by_id(
    b: Backends, media_ids: Sequence[int], viewer: int | None
) -> list[MediaView]:
    """Views in the order given; IDs of deleted media are dropped."""
    found = await b.store.media(media_ids, viewer=viewer)
    return await media_views(b, [found[i] for i in media_ids if i in found], viewer)


def owners_of(users: dict[int, UserRecord], ids: Sequence[int]) -> list[UserRecord]:
    return [users[i] for i in ids if i in users]
