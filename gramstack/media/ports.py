from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ProcessedImage:
    """An upload decoded, stripped and resized (``media.images.process_image``)."""

    width: int  # of the standard rendition, upright
    height: int
    thumbnail: bytes  # JPEG, long side <= THUMBNAIL_SIZE
    standard: bytes  # JPEG, long side <= STANDARD_SIZE, never upscaled


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
