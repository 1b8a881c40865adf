"""The invalidation rule table: which cache keys a changed row makes stale.

Both change readers use it: the outbox (rows recorded by the writing
transaction) and the PostgreSQL logical slot (rows decoded from the WAL).
A rule reads the columns named in ``COLUMNS``; the outbox records exactly
those, and a slot reader needs them in deletes too (``REPLICA IDENTITY
FULL`` on these tables, since their primary keys alone do not name the
keys). Keys are spelled by ``gramstack.cache.keys`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from gramstack.cache import keys
from gramstack.records import Action, Change

__all__ = ["COLUMNS", "RULES", "TABLES", "Action", "Change", "ChangedRow", "keys_for"]


class ChangedRow(Protocol):
    """A changed row as any change reader sees it (``wal2json.RowChange`` fits)."""

    @property
    def table(self) -> str: ...

    @property
    def action(self) -> str: ...

    def value(self, column: str) -> Any: ...


def _ints(change: ChangedRow, *columns: str) -> list[int] | None:
    values = [change.value(c) for c in columns]
    if any(v is None for v in values):
        return None
    return [int(v) for v in values]


def _users(change: ChangedRow) -> list[str]:
    found = _ints(change, "id")
    affected = [] if found is None else [keys.user_key(found[0])]
    username = change.value("username")
    # A username changes hands only when an account is deleted and the name
    # signed up again: then its cached ID is the deleted account's.
    if isinstance(username, str) and change.action != "update":
        affected.append(keys.username_key(username))
    return affected


# The longest query user search takes (api.md: ``q`` is 1..30 characters).
SEARCH_PREFIX_MAX = 30


def _user_words(change: ChangedRow) -> list[str]:
    word = change.value("word")
    if not isinstance(word, str):
        return []
    return [keys.user_search_key(word[:n]) for n in range(1, min(len(word), SEARCH_PREFIX_MAX) + 1)]


def _media(change: ChangedRow) -> list[str]:
    found = _ints(change, "id")
    if found is None:
        return []
    affected = [keys.media_key(found[0])]
    owner = _ints(change, "owner_id")
    # Counter updates leave the owner's page of IDs as it was.
    if owner is not None and change.action != "update":
        affected.append(keys.user_media_key(owner[0]))
    return affected


def _follows(change: ChangedRow) -> list[str]:
    found = _ints(change, "follower_id", "followee_id")
    if found is None:
        return []
    # The follower's pulled followees change; their suggestions exclude whom they follow.
    return [
        keys.follows_key(*found),
        keys.pulled_followees_key(found[0]),
        keys.suggestions_key(found[0]),
    ]


def _likes(change: ChangedRow) -> list[str]:
    found = _ints(change, "user_id", "media_id")
    return [] if found is None else [keys.liked_key(*found)]


def _sessions(change: ChangedRow) -> list[str]:
    token_hash = change.value("token_hash")
    return [] if token_hash is None else [keys.session_key(str(token_hash))]


def _media_tags(change: ChangedRow) -> list[str]:
    tag = change.value("tag")
    if not isinstance(tag, str) or not tag:
        return []
    prefixes = [tag[:n] for n in range(1, min(len(tag), keys.TAG_SEARCH_CACHED_PREFIX) + 1)]
    return [
        keys.tag_key(tag),
        keys.tag_media_key(tag),
        *(keys.tag_search_key(p) for p in prefixes),
    ]


def _inbox_marks(change: ChangedRow) -> list[str]:
    found = _ints(change, "user_id")
    return [] if found is None else [keys.unread_key(found[0])]


def _timeline_marks(change: ChangedRow) -> list[str]:
    found = _ints(change, "user_id")
    return [] if found is None else [keys.timeline_key(found[0])]


Rule = Callable[[ChangedRow], list[str]]

# table -> (columns the rule reads, rule)
RULES: Mapping[str, tuple[tuple[str, ...], Rule]] = {
    "users": (("id", "username"), _users),
    "user_words": (("word",), _user_words),
    "media": (("id", "owner_id"), _media),
    "follows": (("follower_id", "followee_id"), _follows),
    "likes": (("user_id", "media_id"), _likes),
    "sessions": (("token_hash",), _sessions),
    "media_tags": (("tag", "media_id"), _media_tags),
    "inbox_marks": (("user_id",), _inbox_marks),
    "timeline_marks": (("user_id",), _timeline_marks),
}
TABLES: tuple[str, ...] = tuple(RULES)
COLUMNS: Mapping[str, tuple[str, ...]] = {table: rule[0] for table, rule in RULES.items()}


def keys_for(changes: Iterable[ChangedRow]) -> list[str]:
    """The cache keys the changes make stale, each once, in first-seen order."""
    found: dict[str, None] = {}
    for change in changes:
        rule = RULES.get(change.table)
        if rule is not None:
            found.update(dict.fromkeys(rule[1](change)))
    return list(found)
