"""Plain records that cross the layers: rows as the primary and regional
stores return them, changed rows as the outbox records them, and jobs as
the queue holds them.

They live here, at the bottom, rather than in ``domain`` or ``storage``:
the stores return them and the use cases pass them around, and a store
must not import the domain (storage is a leaf, see tests/unit/test_layers.py),
while the domain must not depend on a storage adapter. This module imports
nothing from gramstack, so every package may import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

ActivityType = Literal["like", "comment", "follow"]
Action = Literal["insert", "update", "delete"]


# Users and media are the records every page hydrates, mostly from the
# cache: they are msgspec structs, which the cache encodes and decodes as
# MessagePack arrays in compiled code (``domain.hydration``), about 10x
# cheaper than JSON text and a dataclass rebuilt from it. ``created_at_text``
# is ``created_at`` as RFC 3339, filled in when the record is cached so that
# responses built from the cache do not format it again; empty when not yet.


class UserRecord(msgspec.Struct, frozen=True, array_like=True):
    id: int
    username: str
    full_name: str
    bio: str
    created_at: int  # ms since the Unix epoch
    follower_count: int
    following_count: int
    media_count: int
    avatar_id: int | None = None  # names the avatar's blobs; None: no avatar
    created_at_text: str = ""


class MediaRecord(msgspec.Struct, frozen=True, array_like=True):
    id: int
    owner_id: int
    caption: str
    width: int
    height: int
    created_at: int
    like_count: int
    comment_count: int
    created_at_text: str = ""


@dataclass(frozen=True, slots=True)
class CommentRecord:
    id: int
    media_id: int
    author_id: int
    text: str
    created_at: int


@dataclass(frozen=True, slots=True)
class ActivityRecord:
    id: int
    type: ActivityType
    actor_id: int
    media_id: int | None
    created_at: int


@dataclass(frozen=True, slots=True)
class Change:
    """A changed row as the outbox records it: the columns the invalidation
    rules read (``invalidation.rules.COLUMNS``), nothing else."""

    table: str
    action: Action
    row: Mapping[str, int | str] = field(default_factory=dict)

    def value(self, column: str) -> Any:
        return self.row.get(column)


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job to enqueue: its kind and its payload already encoded (JSON
    text); ``domain.jobs`` holds the typed payloads and their codecs."""

    id: int
    kind: str
    payload: str


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed job."""

    id: int
    kind: str
    payload: str
    attempts: int


@dataclass(frozen=True, slots=True)
class LikeOutcome:
    """What a like or unlike found: ``like_id`` is the like it created or
    removed, None when there was nothing to do (already liked, not liked)."""

    like_id: int | None
    like_count: int
    owner_id: int  # the media's


# Where a user's regional data is in Akkio's migration protocol (see
# ``placement.migrator``): reads and writes go by the state.
LocationState = Literal["placed", "double_write", "read_target", "cleanup"]


@dataclass(frozen=True, slots=True)
class LocationRecord:
    """A row of the placement location table. ``region`` holds the user's
    data; ``target`` is the other region of a move in progress (the
    destination, or in ``cleanup`` the source copy still to delete).
    ``epoch`` rises with every change, so a cached copy can be told stale."""

    user_id: int
    region: str
    target: str | None
    state: LocationState
    epoch: int
    changed_at: int  # ms since the Unix epoch


@dataclass(frozen=True, slots=True)
class RegionalPartition:
    """One user's rows in a regional store, as a move copies them:
    timeline (media ID, author ID) pairs and inbox rows, tombstones too."""

    timeline: list[tuple[int, int]]
    inbox: list[tuple[int, str, int, int | None, int]]  # id, type, actor, media, created_at


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    """A user's webhook: where their events are POSTed, and the secret that
    signs each body (HMAC-SHA256), shown to the user once at registration."""

    user_id: int
    url: str
    secret: str
    created_at: int


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One HTTP delivery attempt, ready to send: the JSON body and headers."""

    url: str
    body: bytes
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    """How an attempt ended: ``delivered`` on a 2xx answer; otherwise why
    not (a status, a timeout, a refused connection, an open breaker), and
    how long to wait at least before trying that destination again."""

    delivered: bool
    detail: str
    retry_after_ms: int = 0
