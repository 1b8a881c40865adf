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

ActivityType = Literal["like", "comment", "follow"]
Action = Literal["insert", "update", "delete"]


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    full_name: str
    bio: str
    created_at: int  # ms since the Unix epoch
    follower_count: int
    following_count: int
    media_count: int


@dataclass(frozen=True, slots=True)
class MediaRecord:
    id: int
    owner_id: int
    caption: str
    width: int
    height: int
    created_at: int
    like_count: int
    comment_count: int


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
