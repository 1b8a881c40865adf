"""What the use cases pass around: records as stored, and the views the API
serializes (a record plus what depends on who is asking)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

T = TypeVar("T")
ActivityType = Literal["like", "comment", "follow"]


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
class UserView:
    user: UserRecord
    followed_by_me: bool | None  # None: the request is anonymous


@dataclass(frozen=True, slots=True)
class MediaView:
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
