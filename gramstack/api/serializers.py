"""Domain views to the JSON objects of api.md (IDs as strings, RFC 3339 times)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from gramstack.domain.media import STANDARD, THUMBNAIL, blob_key
from gramstack.domain.models import (
    ActivityView,
    CommentView,
    LikeState,
    MediaView,
    Page,
    UserRecord,
    UserView,
)
from gramstack.speedups.timefmt import format_timestamp

T = TypeVar("T")
JSON = dict[str, Any]


def timestamp(ms: int) -> str:
    return format_timestamp(ms)


def user_ref(user: UserRecord) -> JSON:
    return {"id": str(user.id), "username": user.username}


def user_json(user: UserRecord, followed_by_me: bool | None = None) -> JSON:
    body: JSON = {
        "id": str(user.id),
        "username": user.username,
        "full_name": user.full_name,
        "bio": user.bio,
        "created_at": timestamp(user.created_at),
        "follower_count": user.follower_count,
        "following_count": user.following_count,
        "media_count": user.media_count,
    }
    if followed_by_me is not None:
        body["followed_by_me"] = followed_by_me
    return body


def user_view_json(view: UserView) -> JSON:
    return user_json(view.user, view.followed_by_me)


def image_url(media_id: int, rendition: str) -> str:
    return f"/media/{blob_key(media_id, rendition)}"


def media_json(view: MediaView) -> JSON:
    media = view.media
    return {
        "id": str(media.id),
        "owner": user_ref(view.owner),
        "caption": media.caption,
        "created_at": timestamp(media.created_at),
        "width": media.width,
        "height": media.height,
        "images": {
            "thumbnail": image_url(media.id, THUMBNAIL),
            "standard": image_url(media.id, STANDARD),
        },
        "like_count": media.like_count,
        "comment_count": media.comment_count,
        "liked_by_me": view.liked_by_me,
    }


def comment_json(view: CommentView) -> JSON:
    comment = view.comment
    return {
        "id": str(comment.id),
        "media_id": str(comment.media_id),
        "author": user_ref(view.author),
        "text": comment.text,
        "created_at": timestamp(comment.created_at),
    }


def activity_json(view: ActivityView) -> JSON:
    item = view.activity
    return {
        "id": str(item.id),
        "type": item.type,
        "actor": user_ref(view.actor),
        "media_id": None if item.media_id is None else str(item.media_id),
        "created_at": timestamp(item.created_at),
    }


def like_json(state: LikeState) -> JSON:
    return {"liked": state.liked, "like_count": state.like_count}


def page_json(page: Page[T], item: Callable[[T], JSON]) -> JSON:
    return {"items": [item(x) for x in page.items], "next_cursor": page.next_cursor}
