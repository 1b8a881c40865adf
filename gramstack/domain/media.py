"""Posting, reading and deleting photos."""

from __future__ import annotations

import asyncio
import json
from typing import BinaryIO

from gramstack.cache import keys
from gramstack.domain import jobs
from gramstack.domain.backends import Backends
from gramstack.domain.errors import Forbidden, NotFound, TooLarge, UnsupportedMediaType
from gramstack.domain.hydration import media_records, media_views, media_views_by_id, user_id_for
from gramstack.domain.models import MediaRecord, MediaView, Page, PageRequest
from gramstack.domain.pagination import encode_cursor
from gramstack.domain.validation import MAX_CAPTION, check_length
from gramstack.media.ports import ImageTooLarge, ProcessedImage, UnreadableImage

USER_MEDIA = "media"
THUMBNAIL = "thumb.jpg"
STANDARD = "std.jpg"
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


def blob_key(media_id: int, rendition: str) -> str:
    return f"{media_id}/{rendition}"


async def post_media(b: Backends, viewer: int, upload: BinaryIO, caption: str) -> MediaView:
    check_length("caption", caption, MAX_CAPTION)
    # Decoding and resizing is CPU work; Pillow releases the GIL for most of it.
    image = await _processed(b, upload)
    media_id = b.next_id()
    await b.blobs.put(blob_key(media_id, THUMBNAIL), image.thumbnail)
    await b.blobs.put(blob_key(media_id, STANDARD), image.standard)
    record = MediaRecord(
        id=media_id,
        owner_id=viewer,
        caption=caption,
        width=image.width,
        height=image.height,
        created_at=b.clock_ms(),
        like_count=0,
        comment_count=0,
    )
    try:
        await b.store.media.create_media(record, [jobs.fanout_media(b.next_id(), media_id, viewer)])
    except BaseException:
        await b.blobs.delete([blob_key(media_id, THUMBNAIL), blob_key(media_id, STANDARD)])
        raise
    # Followers get it through the queue; the author sees it at once.
    await b.write_regional(viewer, lambda r: r.add_to_timelines([viewer], media_id, viewer))
    return (await media_views(b, [record], viewer))[0]


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
    await b.blobs.delete([blob_key(media_id, THUMBNAIL), blob_key(media_id, STANDARD)])


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
