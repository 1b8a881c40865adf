"""Every cache key is built here, and only here, so the read path and the
invalidation rules can never disagree on a key's spelling. The version
prefix changes whenever a cached value's shape does."""

from __future__ import annotations

import hashlib

VERSION = "v2"  # v2: users and media as MessagePack arrays


def username_key(username: str) -> str:
    return f"{VERSION}:uid:{username}"


def user_key(user_id: int) -> str:
    return f"{VERSION}:user:{user_id}"


def media_key(media_id: int) -> str:
    return f"{VERSION}:media:{media_id}"


def session_key(token_hash: str) -> str:
    """The user a live session token belongs to (evicted when it is revoked)."""
    return f"{VERSION}:session:{token_hash}"


def write_mark_key(key: str) -> str:
    """The leader WAL position of the last write evicted from ``key``
    (kept on ``key``'s own servers; see runtime/write_marks.py)."""
    return f"{VERSION}:wmark:{key}"


def write_lsn_key(user_id: int) -> str:
    """The leader's WAL position after this user's last write (read-your-writes)."""
    return f"{VERSION}:wlsn:{user_id}"


def user_media_key(owner_id: int) -> str:
    """The IDs of the newest page of one user's media (first page only)."""
    return f"{VERSION}:umedia:{owner_id}"


def follows_key(follower_id: int, followee_id: int) -> str:
    """b"1" when the follow exists, b"0" when not (``followed_by_me``)."""
    return f"{VERSION}:follows:{follower_id}:{followee_id}"


def liked_key(user_id: int, media_id: int) -> str:
    """b"1" when the like exists, b"0" when not (``liked_by_me``)."""
    return f"{VERSION}:liked:{user_id}:{media_id}"


def user_search_key(prefix: str) -> str:
    """The best-ranked user IDs whose username or a name word starts with
    ``prefix`` (lowercase). Hashed: the prefix may hold any character,
    a memcached key may not."""
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:32]
    return f"{VERSION}:usearch:{digest}"


def suggestions_key(user_id: int) -> str:
    """The ranked IDs of the accounts suggested to ``user_id``."""
    return f"{VERSION}:suggest:{user_id}"


def unread_key(user_id: int) -> str:
    """The number of ``user_id``'s activity items newer than their seen mark."""
    return f"{VERSION}:unread:{user_id}"


def pulled_followees_key(follower_id: int) -> str:
    """The accounts one user follows whose posts the feed pulls (JSON list)."""
    return f"{VERSION}:pulled:{follower_id}"
