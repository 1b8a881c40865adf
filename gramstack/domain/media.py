"""Posting, reading, editing and deleting posts of 1..10 photos."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Sequence
from typing import BinaryIO

from gramstack.cache import keys
from gramstack.domain import jobs
from gramstack.domain.backends import Backends
from gramstack.domain.captions import check_hashtags
from gramstack.domain.errors import (
    Forbidden,
    InvalidRequest,
    NotFound,
    TooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from gramstack.domain.hydration import media_records, media_views, media_views_by_id, user_id_for
from gramstack.domain.mentions import mentioned_users
from gramstack.domain.models import ActivityRecord, MediaRecord, MediaView, Page, PageRequest
from gramstack.domain.pagination import encode_cursor
from gramstack.domain.validation import MAX_CAPTION, check_length
from gramstack.media.ports import ImageTooLarge, ProcessedImage, UnreadableImage
from gramstack.records import PhotoRecord

USER_MEDIA = "media"
THUMBNAIL = "thumb.jpg"
MEDIUM = "medium.jpg"
STANDARD = "std.jpg"
RENDITIONS = (THUMBNAIL, MEDIUM, STANDARD)
MAX_PHOTOS = 10
MAX_ALT_TEXT = 1000
FIRST_PAGE = 101  # IDs kept for a profile's first page: the largest limit, plus one


async def newest_media_ids(b: Backends, owner: int, viewer: int | None) -> list[int]:
    """The IDs of ``owner``'s newest ``FIRST_PAGE`` media, newest first,
    cached as one list (evicted when the owner posts or deletes); fewer
    than ``FIRST_PAGE`` means these are all of them."""

    async def load() -> bytes | None:
        records = await b.store.media.user_media_page(owner, None, FIRST_PAGE, viewer=viewer)
        return json.dumps([m.id for m in records]).encode()

    cached = await b.cache.get_or_load(keys.user_media_key(owner), load, b.limits.cache_ttl_s)
    ids: list[int] = json.loads(cached or b"[]")
    return ids


async def _first_page(b: Backends, owner: int, limit: int, viewer: int | None) -> list[MediaRecord]:
    """A profile's newest media: the IDs from ``newest_media_ids``, the
    records by multi-get."""
    ids = (await newest_media_ids(b, owner, viewer))[:limit]
    found = await media_records(b, ids, viewer)
    return [found[i] for i in ids if i in found]


async def _processed(b: Backends, upload: BinaryIO) -> ProcessedImage:
    try:
        return await asyncio.to_thread(b.process_image, upload)
    except ImageTooLarge as exc:
        raise TooLarge(exc.message, limit=exc.limit) from exc
    except UnreadableImage as exc:
        raise UnsupportedMediaType(exc.message) from exc


def blob_key(media_id: int, rendition: str, photo: int = 0) -> str:
    """The first photo keeps version 1's keys (and URLs); photo ``i`` >= 1
    of a carousel has its own folder."""
    if photo == 0:
        return f"{media_id}/{rendition}"
    return f"{media_id}/{photo}/{rendition}"


def blob_keys(media_id: int, photos: int) -> list[str]:
    return [blob_key(media_id, r, i) for i in range(photos) for r in RENDITIONS]


def check_alt_text(field: str, text: str) -> str:
    return check_length(field, text, MAX_ALT_TEXT)


async def _mention_items(
    b: Backends, owner: int, field: str, caption: str
) -> tuple[dict[str, int], dict[int, int]]:
    """The mentioned users (name -> ID) and an activity ID for each but the owner."""
    mentioned = await mentioned_users(b, field, caption)
    items = {uid: b.next_id() for uid in dict.fromkeys(mentioned.values()) if uid != owner}
    return mentioned, items


async def post_media(
    b: Backends,
    viewer: int,
    uploads: Sequence[BinaryIO],
    caption: str,
    alt_texts: Sequence[str] | None = None,
) -> MediaView:
    if not 1 <= len(uploads) <= MAX_PHOTOS:
        raise InvalidRequest(f"a post has 1 to {MAX_PHOTOS} photos")
    if alt_texts is not None and len(alt_texts) != len(uploads):
        raise InvalidRequest("send 'alt_text' once per 'file', or not at all")
    check_length("caption", caption, MAX_CAPTION)
    texts = [check_alt_text("alt_text", t) for t in alt_texts or [""] * len(uploads)]
    hashtags = check_hashtags("caption", caption)
    mentioned, mention_items = await _mention_items(b, viewer, "caption", caption)
    # Every photo is decoded before anything is stored, so a bad one rejects
    # the post with nothing left behind. Decoding and resizing is CPU work;
    # Pillow releases the GIL for most of it.
    images = [await _processed(b, upload) for upload in uploads]
    media_id = b.next_id()
    stored: list[str] = []
    try:
        for index, image in enumerate(images):
            for rendition, data in (
                (THUMBNAIL, image.thumbnail),
                (MEDIUM, image.medium),
                (STANDARD, image.standard),
            ):
                key = blob_key(media_id, rendition, index)
                stored.append(key)
                await b.blobs.put(key, data)
        now = b.clock_ms()
        record = MediaRecord(
            id=media_id,
            owner_id=viewer,
            caption=caption,
            width=images[0].width,
            height=images[0].height,
            created_at=now,
            like_count=0,
            comment_count=0,
            photos=tuple(
                PhotoRecord(im.width, im.height, text)
                for im, text in zip(images, texts, strict=True)
            ),
            hashtags=tuple(hashtags),
            mentions=tuple(mentioned),
        )
        queued = [jobs.fanout_media(b.next_id(), media_id, viewer)]
        queued += [
            jobs.inbox_add(
                b.next_id(), uid, ActivityRecord(activity_id, "mention", viewer, media_id, now)
            )
            for uid, activity_id in mention_items.items()
        ]
        await b.store.media.create_media(record, queued, mention_items)
    except BaseException:
        await b.blobs.delete(stored)
        raise
    # Followers get it through the queue; the author sees it at once.
    await b.write_regional(viewer, lambda r: r.add_to_timelines([viewer], media_id, viewer))
    await b.store.timeline_marks.timelines_changed([viewer])
    return (await media_views(b, [record], viewer))[0]


async def edit_media(
    b: Backends,
    viewer: int,
    media_id: int,
    caption: str | None,
    alt_texts: Sequence[str] | None,
) -> MediaView:
    found = await b.store.media.media([media_id], viewer=viewer)
    if media_id not in found:
        raise NotFound("media", media_id)
    current = found[media_id]
    if current.owner_id != viewer:
        raise Forbidden("only the owner can edit this media")
    if alt_texts is not None:
        # The number of photos never changes after posting, so this check holds.
        if len(alt_texts) != len(current.photos):
            raise ValidationFailed(
                "alt_texts", f"must have exactly one text per photo ({len(current.photos)})"
            )
        for text in alt_texts:
            check_alt_text("alt_texts", text)
    parsed = None
    if caption is not None:
        check_length("caption", caption, MAX_CAPTION)
        hashtags = check_hashtags("caption", caption)
        mentioned, mention_items = await _mention_items(b, viewer, "caption", caption)
        parsed = (hashtags, list(mentioned), mention_items)
    now = b.clock_ms()
    edit = b.store.media.edit_caption(media_id, caption, alt_texts, parsed, now, actor=viewer)
    async with edit as (edited, tx):
        if edited is None:
            raise NotFound("media", media_id)
        if edited.media.owner_id != viewer:
            raise Forbidden("only the owner can edit this media")
        for uid, activity_id in edited.mentions_removed.items():
            tx.enqueue(jobs.inbox_remove(b.next_id(), uid, activity_id))
        for uid, activity_id in edited.mentions_added.items():
            item = ActivityRecord(activity_id, "mention", viewer, media_id, now)
            tx.enqueue(jobs.inbox_add(b.next_id(), uid, item))
    return (await media_views(b, [edited.media], viewer))[0]


async def image_bytes(b: Backends, media_id: int, rendition: str, photo: int) -> bytes | None:
    data = await b.blobs.read(blob_key(media_id, rendition, photo))
    if data is not None or rendition != MEDIUM or photo != 0:
        return data
    # Posts made before the medium rendition existed get it on first request,
    # made from their standard one, once, and only while the post exists.
    standard = await b.blobs.read(blob_key(media_id, STANDARD))
    if standard is None or not await b.store.media.media([media_id]):
        return None
    image = await _processed(b, io.BytesIO(standard))
    await b.blobs.put(blob_key(media_id, MEDIUM), image.medium)
    return image.medium


async def get_media(b: Backends, media_id: int, viewer: int | None) -> MediaView:
    views = await media_views_by_id(b, [media_id], viewer)
    if not views:
        raise NotFound("media", media_id)
    return views[0]


async def delete_media(b: Backends, viewer: int, media_id: int) -> None:
    found = await b.store.media.media([media_id], viewer=viewer)
    if media_id not in found:
        raise NotFound("media", media_id)
    if found[media_id].owner_id != viewer:
        raise Forbidden("only the owner can delete this media")
    removal = [jobs.media_removed(b.next_id(), media_id, viewer)]
    if not await b.store.media.delete_media(media_id, b.clock_ms(), removal, actor=viewer):
        raise NotFound("media", media_id)
    await b.blobs.delete(blob_keys(media_id, max(1, len(found[media_id].photos))))


async def user_media(
    b: Backends, username: str, page: PageRequest, viewer: int | None
) -> Page[MediaView]:
    owner = await user_id_for(b, username)
    if page.after is None and page.limit < FIRST_PAGE:
        records = await _first_page(b, owner, page.limit + 1, viewer)
    else:
        records = await b.store.media.user_media_page(
            owner, page.after, page.limit + 1, viewer=viewer
        )
    more = len(records) > page.limit
    records = records[: page.limit]
    cursor = encode_cursor(USER_MEDIA, records[-1].id) if more else None
    return Page(await media_views(b, records, viewer), cursor)
