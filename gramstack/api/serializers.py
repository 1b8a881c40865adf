"""Domain views to the response structs of api.md (IDs as strings, RFC 3339
times with milliseconds and ``Z``)."""

from __future__ import annotations

from msgspec import UNSET

from gramstack.api import schemas
from gramstack.domain import models
from gramstack.domain.avatars import avatar_blob_key
from gramstack.domain.media import STANDARD, THUMBNAIL, blob_key
from gramstack.speedups.timefmt import format_timestamp


def timestamp(ms: int) -> str:
    """RFC 3339 UTC with milliseconds, formatted by the compiled speedup."""
    return format_timestamp(ms)


def user_ref(user: models.UserRecord) -> schemas.UserRef:
    return schemas.UserRef(id=str(user.id), username=user.username)


def user(record: models.UserRecord, followed_by_me: bool | None = None) -> schemas.User:
    return schemas.User(
        id=str(record.id),
        username=record.username,
        full_name=record.full_name,
        bio=record.bio,
        created_at=record.created_at_text or timestamp(record.created_at),
        follower_count=record.follower_count,
        following_count=record.following_count,
        media_count=record.media_count,
        avatar=avatar(record.avatar_id),
        followed_by_me=UNSET if followed_by_me is None else followed_by_me,
    )


def avatar(avatar_id: int | None) -> schemas.Avatar | None:
    if avatar_id is None:
        return None
    return schemas.Avatar(
        thumbnail=f"/media/{avatar_blob_key(avatar_id, THUMBNAIL)}",
        standard=f"/media/{avatar_blob_key(avatar_id, STANDARD)}",
    )


def user_view(view: models.UserView) -> schemas.User:
    return user(view.user, view.followed_by_me)


def image_url(media_id: int, rendition: str) -> str:
    return f"/media/{blob_key(media_id, rendition)}"


def media(view: models.MediaView) -> schemas.Media:
    record = view.media
    return schemas.Media(
        id=str(record.id),
        owner=user_ref(view.owner),
        caption=record.caption,
        created_at=record.created_at_text or timestamp(record.created_at),
        width=record.width,
        height=record.height,
        images=schemas.Images(
            thumbnail=image_url(record.id, THUMBNAIL), standard=image_url(record.id, STANDARD)
        ),
        like_count=record.like_count,
        comment_count=record.comment_count,
        liked_by_me=view.liked_by_me,
    )


def comment(view: models.CommentView) -> schemas.Comment:
    record = view.comment
    return schemas.Comment(
        id=str(record.id),
        media_id=str(record.media_id),
        author=user_ref(view.author),
        text=record.text,
        created_at=timestamp(record.created_at),
    )


def activity(view: models.ActivityView) -> schemas.Activity:
    item = view.activity
    return schemas.Activity(
        id=str(item.id),
        type=item.type,
        actor=user_ref(view.actor),
        media_id=None if item.media_id is None else str(item.media_id),
        created_at=timestamp(item.created_at),
    )


def like_state(state: models.LikeState) -> schemas.LikeState:
    return schemas.LikeState(liked=state.liked, like_count=state.like_count)


def user_page(page: models.Page[models.UserView]) -> schemas.UserPage:
    return schemas.UserPage([user_view(v) for v in page.items], page.next_cursor)


def media_page(page: models.Page[models.MediaView]) -> schemas.MediaPage:
    return schemas.MediaPage([media(v) for v in page.items], page.next_cursor)


def comment_page(page: models.Page[models.CommentView]) -> schemas.CommentPage:
    return schemas.CommentPage([comment(v) for v in page.items], page.next_cursor)


def activity_page(page: models.Page[models.ActivityView]) -> schemas.ActivityPage:
    return schemas.ActivityPage([activity(v) for v in page.items], page.next_cursor)
