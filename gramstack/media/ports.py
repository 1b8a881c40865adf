from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class ImageRejected(Exception):
    """An upload the image pipeline will not take; the domain turns each
    case into its error (``TooLarge``, ``UnsupportedMediaType``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ImageTooLarge(ImageRejected):
    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit  # pixels


class UnreadableImage(ImageRejected):
    """Not a decodable still JPEG, PNG or WebP image."""


@dataclass(frozen=True)
class ProcessedImage:
    """An upload decoded, stripped and resized (``media.images.process_image``)."""

    width: int  # of the standard rendition, upright
    height: int
    thumbnail: bytes  # JPEG, long side <= THUMBNAIL_SIZE
    standard: bytes  # JPEG, long side <= STANDARD_SIZE, never upscaled


@dataclass(frozen=True)
class AvatarImage:
    """An avatar upload cropped to a square and scaled (``media.images.process_avatar``)."""

    thumbnail: bytes  # JPEG, exactly AVATAR_THUMBNAIL_SIZE square
    standard: bytes  # JPEG, exactly AVATAR_STANDARD_SIZE square


@runtime_checkable
class BlobStore(Protocol):
    """Original and resized images, addressed by slash-separated keys."""

    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing any blob already there in one step."""
        ...

    async def read(self, key: str) -> bytes | None:
        """The blob under ``key``, or None if there is none."""
        ...

    async def delete(self, keys: Sequence[str]) -> None:
        """Remove the blobs; keys that name nothing are ignored."""
        ...
