"""The caller's avatar: a square photo in two sizes."""

from __future__ import annotations

import asyncio
from typing import BinaryIO

from gramstack.domain.backends import Backends
from gramstack.domain.errors import NotFound, TooLarge, UnsupportedMediaType
from gramstack.domain.media import STANDARD, THUMBNAIL
from gramstack.domain.models import UserRecord
from gramstack.media.ports import AvatarImage, ImageTooLarge, UnreadableImage


def avatar_blob_key(avatar_id: int, rendition: str) -> str:
    return f"avatars/{avatar_id}/{rendition}"


def avatar_blob_keys(avatar_id: int) -> list[str]:
    return [avatar_blob_key(avatar_id, THUMBNAIL), avatar_blob_key(avatar_id, STANDARD)]


async def _processed(b: Backends, upload: BinaryIO) -> AvatarImage:
    assert b.process_avatar is not None, "wiring sets process_avatar"
    try:
        return await asyncio.to_thread(b.process_avatar, upload)
    except ImageTooLarge as exc:
        raise TooLarge(exc.message, limit=exc.limit) from exc
    except UnreadableImage as exc:
        raise UnsupportedMediaType(exc.message) from exc


async def set_avatar(b: Backends, viewer: int, upload: BinaryIO) -> UserRecord:
    image = await _processed(b, upload)
    # A new ID per upload: the URLs change, so no cache keeps the old picture.
    avatar_id = b.next_id()
    thumbnail, standard = avatar_blob_keys(avatar_id)
    await b.blobs.put(thumbnail, image.thumbnail)
    await b.blobs.put(standard, image.standard)
    try:
        changed = await b.store.accounts.set_avatar(viewer, avatar_id)
    except BaseException:
        await b.blobs.delete([thumbnail, standard])
        raise
    if changed is None:
        await b.blobs.delete([thumbnail, standard])
        raise NotFound("user", viewer)
    user, replaced = changed
    if replaced is not None:
        await b.blobs.delete(avatar_blob_keys(replaced))
    return user


async def remove_avatar(b: Backends, viewer: int) -> UserRecord:
    changed = await b.store.accounts.set_avatar(viewer, None)
    if changed is None:
        raise NotFound("user", viewer)
    user, replaced = changed
    if replaced is not None:
        await b.blobs.delete(avatar_blob_keys(replaced))
    return user
