"""Every cache key is built here, and only here, so the read path and the
invalidation rules can never disagree on a key's spelling. The version
prefix changes whenever a cached value's shape does."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable

VERSION = "v2"  # v2: users and media as MessagePack arrays


def username_key(username: str) -> str:
    return f"{VERSION}:uid:{username}"


# The prefixes the single and the page-at-once builders below share.
_USER = f"{VERSION}:user:"
# A post with its photos, hashtags and mentions: v2 since carousels
# changed the cached value's shape (a JSON object, not a flat array).
_MEDIA = "v2:media:"


def _follows(follower_id: int) -> str:
    return f"{VERSION}:follows:{follower_id}:"


def _liked(user_id: int) -> str:
    return f"{VERSION}:liked:{user_id}:"


def user_key(user_id: int) -> str:
    return f"{_USER}{user_id}"


def media_key(media_id: int) -> str:
    return f"{_MEDIA}{media_id}"


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


def timeline_key(user_id: int) -> str:
    """The media IDs of the newest page of one user's home timeline."""
    return f"{VERSION}:timeline:{user_id}"


def user_media_key(owner_id: int) -> str:
    """The IDs of the newest page of one user's media (first page only)."""
    return f"{VERSION}:umedia:{owner_id}"


def follows_key(follower_id: int, followee_id: int) -> str:
    """b"1" when the follow exists, b"0" when not (``followed_by_me``)."""
    return f"{_follows(follower_id)}{followee_id}"


def liked_key(user_id: int, media_id: int) -> str:
    """b"1" when the like exists, b"0" when not (``liked_by_me``)."""
    return f"{_liked(user_id)}{media_id}"


# A page's keys at once, key -> ID (the hydration of a page builds dozens;
# one prefix per page instead of a call per key), on the single builders'
# prefixes. The decimal text of an ID is remembered: formatting an 18-digit
# int is most of what a key costs, and a page's posts and owners come back
# page after page (a post's two keys, the record and the viewer's flag,
# share one text).
_DECIMALS_KEPT = 4096
_decimals: dict[int, str] = {}


def _decimal(i: int) -> str:
    if len(_decimals) >= _DECIMALS_KEPT:
        _decimals.clear()  # cheaper than ordering them, and refilled by a page
    text = _decimals[i] = str(i)
    return text


def _prefixed(prefix: str, ids: Iterable[int]) -> dict[str, int]:
    # A loop, not a comprehension: on Python 3.11 a comprehension is a call
    # of its own, as much as the whole loop costs for a one-item page.
    found: dict[str, int] = {}
    known = _decimals.get
    for i in ids:
        found[prefix + (known(i) or _decimal(i))] = i
    return found


# Partials: a call goes straight to the loop (no frame of their own).
user_keys: Callable[[Iterable[int]], dict[str, int]] = functools.partial(_prefixed, _USER)
media_keys: Callable[[Iterable[int]], dict[str, int]] = functools.partial(_prefixed, _MEDIA)


def follows_keys(follower_id: int, followee_ids: Iterable[int]) -> dict[str, int]:
    return _prefixed(_follows(follower_id), followee_ids)


def liked_keys(user_id: int, media_ids: Iterable[int]) -> dict[str, int]:
    return _prefixed(_liked(user_id), media_ids)


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


def _text_part(text: str) -> str:
    """Unicode text as a key part: memcached keys are ASCII without spaces and
    at most 250 bytes, so UTF-8 hex, or a digest of it when that is too long."""
    hexed = text.encode().hex()
    if len(hexed) <= 160:
        return hexed
    return "h" + hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


def tag_key(tag: str) -> str:
    """A hashtag's media count."""
    return f"{VERSION}:tag:{_text_part(tag)}"


def tag_media_key(tag: str) -> str:
    """The IDs of the newest page of one hashtag's media (first page only)."""
    return f"{VERSION}:tagmedia:{_text_part(tag)}"


# Tag search results are cached for prefixes up to this length (a changed tag
# evicts one key per prefix); longer prefixes are selective enough to ask
# the store each time.
TAG_SEARCH_CACHED_PREFIX = 20


def tag_search_key(prefix: str) -> str:
    """The best tags starting with ``prefix`` (short prefixes only, see ``rules``)."""
    return f"{VERSION}:tagsearch:{_text_part(prefix)}"


def explore_current_key() -> str:
    """The ID of the explore snapshot new first pages use (expires, never evicted)."""
    return f"{VERSION}:explore:current"


def explore_snapshot_key(snapshot_id: int) -> str:
    """One explore snapshot's ranking: written once, never changed."""
    return f"{VERSION}:explore:snap:{snapshot_id}"
