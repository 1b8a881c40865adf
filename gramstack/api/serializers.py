"""Domain views to the response structs of api.md (IDs as strings, RFC 3339
times with milliseconds and ``Z``), and the hot reads' responses as JSON
rendered once per record.

A post or a profile is rendered from frozen records (the cached ones,
decoded once per worker by ``domain.hydration``) and the viewer's flag and
nothing else, so its JSON is memoized on exactly those: a warm feed page is
twenty memo hits and one join instead of twenty trees of response structs
with six image URLs each (about 7 µs a post, most of a page's CPU). The
memo is keyed by the records' values, so a new count or caption (a new
record) is a new entry: nothing to invalidate.
"""

from __future__ import annotations

import functools

import msgspec
from msgspec import UNSET

from gramstack.api import schemas
from gramstack.domain import models
from gramstack.domain.avatars import avatar_blob_key
from gramstack.domain.media import MEDIUM, STANDARD, THUMBNAIL, blob_key
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


# Per worker and kind: the posts and profiles of fifty-odd feed pages
# (about 0.7 KB of JSON a post, so at most ~1.5 MB a worker with the
# records held; a miss costs one render, ~7 µs).
_RENDERED = 1024
_ENCODER = msgspec.json.Encoder()


@functools.lru_cache(maxsize=_RENDERED)
def _user_json(record: models.UserRecord, followed_by_me: bool | None) -> msgspec.Raw:
    return msgspec.Raw(_ENCODER.encode(user(record, followed_by_me)))


@functools.lru_cache(maxsize=_RENDERED)
def _media_json(
    record: models.MediaRecord, owner: models.UserRecord, liked_by_me: bool
) -> msgspec.Raw:
    return msgspec.Raw(_ENCODER.encode(media(models.MediaView(record, owner, liked_by_me))))


# A feed page's records are the very objects of the last page (hydration
# decodes a cached value once), so they are found by identity first:
# hashing a record's fields for ``_media_json`` costs more than the rest of
# a hit. An entry holds its records, so their ids are not reused while it
# lives; a miss falls back to the lookup by value.
_by_identity: dict[tuple[int, int, bool], tuple[models.MediaRecord, models.UserRecord, msgspec.Raw]]
_by_identity = {}


def user_json(view: models.UserView) -> msgspec.Raw:
    """``user_view`` encoded: the JSON of a ``schemas.User``."""
    return _user_json(view.user, view.followed_by_me)


def media_json(view: models.MediaView) -> msgspec.Raw:
    """``media`` encoded: the JSON of a ``schemas.Media``."""
    record, owner, liked = view.media, view.owner, view.liked_by_me
    key = (id(record), id(owner), liked)
    entry = _by_identity.get(key)
    if entry is not None and entry[0] is record and entry[1] is owner:
        return entry[2]
    rendered = _media_json(record, owner, liked)
    if len(_by_identity) >= _RENDERED:
        del _by_identity[next(iter(_by_identity))]  # the oldest
    _by_identity[key] = (record, owner, rendered)
    return rendered


class EncodedPage(msgspec.Struct):
    """A page whose items are JSON already: encodes as the schemas' pages
    (``MediaPage``, ``UserPage``) do, field for field."""

    items: list[msgspec.Raw]
    next_cursor: str | None


def image_url(media_id: int, rendition: str, photo: int = 0) -> str:
    return f"/media/{blob_key(media_id, rendition, photo)}"


def images(media_id: int, photo: int = 0) -> schemas.Images:
    return schemas.Images(
        thumbnail=image_url(media_id, THUMBNAIL, photo),
        medium=image_url(media_id, MEDIUM, photo),
        standard=image_url(media_id, STANDARD, photo),
    )


def media(view: models.MediaView) -> schemas.Media:
    record = view.media
    photos = [
        schemas.Photo(
            width=p.width, height=p.height, alt_text=p.alt_text, images=images(record.id, i)
        )
        for i, p in enumerate(record.photos)
    ]
    return schemas.Media(
        id=str(record.id),
        owner=user_ref(view.owner),
        caption=record.caption,
        created_at=record.created_at_text or timestamp(record.created_at),
        edited_at=None if record.edited_at is None else timestamp(record.edited_at),
        width=record.width,
        height=record.height,
        alt_text=photos[0].alt_text if photos else "",
        images=images(record.id),
        photos=photos,
        hashtags=list(record.hashtags),
        mentions=list(record.mentions),
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
        comment_id=None if view.comment is None else str(view.comment.id),
        text=None if view.comment is None else view.comment.text,
    )


def tag(record: models.TagRecord) -> schemas.Tag:
    return schemas.Tag(name=record.name, media_count=record.media_count)


def like_state(state: models.LikeState) -> schemas.LikeState:
    return schemas.LikeState(liked=state.liked, like_count=state.like_count)


def user_page(page: models.Page[models.UserView]) -> EncodedPage:
    """The JSON of a ``schemas.UserPage``."""
    return EncodedPage([user_json(v) for v in page.items], page.next_cursor)


def media_page(page: models.Page[models.MediaView]) -> EncodedPage:
    """The JSON of a ``schemas.MediaPage``."""
    return EncodedPage([media_json(v) for v in page.items], page.next_cursor)


def comment_page(page: models.Page[models.CommentView]) -> schemas.CommentPage:
    return schemas.CommentPage([comment(v) for v in page.items], page.next_cursor)


def activity_page(page: models.Page[models.ActivityView]) -> schemas.ActivityPage:
    return schemas.ActivityPage([activity(v) for v in page.items], page.next_cursor)
