"""What the use cases pass around: records as stored (defined in
``gramstack.records``, re-exported here), and the views the API serializes
(a record plus what depends on who is asking)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import msgspec

from gramstack.records import (
    ActivityRecord,
    ActivityType,
    CommentRecord,
    MediaRecord,
    TagRecord,
    UserRecord,
)

__all__ = [
    "ActivityRecord",
    "ActivityType",
    "ActivityView",
    "CommentRecord",
    "CommentView",
    "LikeState",
    "MediaRecord",
    "MediaView",
    "Page",
    "PageRequest",
    "TagRecord",
    "UserRecord",
    "UserView",
]

T = TypeVar("T")


# The two views a feed page makes twenty of: msgspec builds a frozen struct
# in C, where a frozen dataclass's ``__init__`` sets each field through
# ``object.__setattr__`` (about 0.5 µs a view).
class UserView(msgspec.Struct, frozen=True):
    user: UserRecord
    followed_by_me: bool | None  # None: the request is anonymous


class MediaView(msgspec.Struct, frozen=True):
    media: MediaRecord
    owner: UserRecord
    liked_by_me: bool


@dataclass(frozen=True, slots=True)
class CommentView:
    comment: CommentRecord
    author: UserRecord


@dataclass(frozen=True, slots=True)
class ActivityView:
    activity: ActivityRecord
    actor: UserRecord
    comment: CommentRecord | None = None  # the comment that made it, if one did


@dataclass(frozen=True, slots=True)
class LikeState:
    liked: bool
    like_count: int


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class PageRequest:
    """A decoded ``?limit=&cursor=``: ``after`` is the sort key of the last
    item already seen (None for the first page)."""

    limit: int
    after: int | None
