"""Image files for seeded media: one picture, processed once, linked many times.

Each post needs its renditions at ``<media id>/thumb.jpg`` and ``std.jpg``
for its image URLs to work. Encoding 100,000 JPEGs would take longer than
the rest of the seed, so one picture goes through the real upload pipeline
and its bytes are hard-linked into every post's directory (copied where
the filesystem has no hard links).
"""

from __future__ import annotations

import errno
import io
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from PIL import Image, ImageDraw

from gramstack.domain.media import STANDARD, THUMBNAIL
from gramstack.media.images import ProcessedImage, process_image

# ext4 allows 65,000 names per inode; start a new source file well before.
_LINKS_PER_SOURCE = 60_000
_SOURCES = ".seed"


def seed_picture() -> ProcessedImage:
    """A small landscape, through the same pipeline as an upload."""
    picture = Image.new("RGB", (640, 480), (70, 130, 180))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 330, 640, 480), fill=(238, 214, 175))
    draw.ellipse((440, 60, 540, 160), fill=(255, 200, 60))
    upload = io.BytesIO()
    picture.save(upload, "JPEG", quality=90)
    upload.seek(0)
    return process_image(upload, max_pixels=640 * 480)


class RenditionLinker:
    """Puts the seed picture's renditions under each media ID in ``blob_dir``."""

    def __init__(self, blob_dir: Path, image: ProcessedImage) -> None:
        self._dir = blob_dir
        self._renditions = {THUMBNAIL: image.thumbnail, STANDARD: image.standard}
        self._sources: dict[str, Path] = {}
        self._links = 0
        self._can_link = True

    def _source(self, rendition: str) -> Path:
        if self._links % _LINKS_PER_SOURCE == 0 or rendition not in self._sources:
            folder = self._dir / _SOURCES
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{self._links // _LINKS_PER_SOURCE}-{rendition}"
            path.write_bytes(self._renditions[rendition])
            os.chmod(path, 0o644)
            self._sources[rendition] = path
        return self._sources[rendition]

    def _place(self, rendition: str, target: str) -> None:
        source = self._source(rendition)
        if self._can_link:
            try:
                os.link(source, target)
                return
            except OSError as exc:
                if exc.errno == errno.EEXIST:
                    return
                if exc.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP):
                    raise
                self._can_link = False
        shutil.copyfile(source, target)

    def link_all(self, media_ids: Iterable[int], progress: Callable[[int], object]) -> int:
        # Plain string paths and os calls: pathlib's objects cost more CPU
        # than the system calls themselves, millions of times over.
        root = os.fspath(self._dir)
        done = 0
        for media_id in media_ids:
            folder = f"{root}/{media_id}"
            try:
                os.mkdir(folder)
            except FileExistsError:
                pass
            except FileNotFoundError:
                os.makedirs(folder, exist_ok=True)
            for rendition in (THUMBNAIL, STANDARD):
                self._place(rendition, f"{folder}/{rendition}")
            self._links += 1
            done += 1
            if done % 1000 == 0:
                progress(1000)
        progress(done % 1000)
        return done
