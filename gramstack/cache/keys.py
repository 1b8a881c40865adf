"""Every cache key is built here, and only here, so the read path and the
invalidation rules can never disagree on a key's spelling. The version
prefix changes whenever a cached value's shape does."""

from __future__ import annotations

VERSION = "v1"


def username_key(username: str) -> str:
    return f"{VERSION}:uid:{username}"


def user_key(user_id: int) -> str:
    return f"{VERSION}:user:{user_id}"


def media_key(media_id: int) -> str:
    return f"{VERSION}:media:{media_id}"
