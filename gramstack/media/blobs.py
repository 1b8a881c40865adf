from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

_KEY = re.compile(r"[0-9A-Za-z_.-]+(?:/[0-9A-Za-z_.-]+)*")
# Blobs are served as static files, so they must not keep mkstemp's owner-only mode.
_FILE_MODE = 0o644
_PUT_ATTEMPTS = 3


class FilesystemBlobStore:
    """Blobs as files under ``root``; the key is the relative path."""

    def __init__(self, root: Path) -> None:
        self._root = root

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, self._path(key), data)

    async def read(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._read, self._path(key))

    async def delete(self, keys: Sequence[str]) -> None:
        paths = [self._path(key) for key in keys]
        await asyncio.to_thread(self._delete, paths)

    def _path(self, key: str) -> Path:
        # fullmatch, not "$": "$" would also accept a trailing newline.
        if not _KEY.fullmatch(key) or any(part in (".", "..") for part in key.split("/")):
            raise ValueError(f"invalid blob key {key!r}")
        return self._root.joinpath(*key.split("/"))

    def _put(self, path: Path, data: bytes) -> None:
        fd, tmp = _temp_file_beside(path)
        try:
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), _FILE_MODE)
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _read(self, path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def _delete(self, paths: Sequence[Path]) -> None:
        for path in paths:
            with contextlib.suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
                path.unlink()
            self._prune(path.parent)

    def _prune(self, directory: Path) -> None:
        while directory != self._root:
            try:
                directory.rmdir()
            except OSError:  # not empty, already gone, or not ours to remove
                return
            directory = directory.parent


def _temp_file_beside(path: Path) -> tuple[int, str]:
    # A concurrent delete may remove the (empty) directory between mkdir and mkstemp.
    for _ in range(_PUT_ATTEMPTS - 1):
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    path.parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
