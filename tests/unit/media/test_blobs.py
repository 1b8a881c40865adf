from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gramstack.media.blobs import FilesystemBlobStore
from gramstack.media.ports import BlobStore

BAD_KEYS = [
    "",
    "..",
    ".",
    "../x",
    "a/../b",
    "a/./b",
    "/abs",
    "a/",
    "a//b",
    "a\\b",
    "a b",
    "a\n",
    "a/\x00",
    "é.jpg",
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "blobs"


@pytest.fixture
def store(root: Path) -> FilesystemBlobStore:
    return FilesystemBlobStore(root)


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_conforms_to_port(store: FilesystemBlobStore) -> None:
    port: BlobStore = store
    assert isinstance(port, BlobStore)


async def test_put_then_read_round_trips(store: FilesystemBlobStore, root: Path) -> None:
    await store.put("123/thumb.jpg", b"thumb")
    await store.put("123/std.jpg", b"standard")

    assert await store.read("123/thumb.jpg") == b"thumb"
    assert await store.read("123/std.jpg") == b"standard"
    assert (root / "123" / "thumb.jpg").read_bytes() == b"thumb"
    assert _files(root) == ["123/std.jpg", "123/thumb.jpg"]


async def test_blobs_are_world_readable(store: FilesystemBlobStore, root: Path) -> None:
    await store.put("a/b.jpg", b"x")

    assert stat.S_IMODE((root / "a" / "b.jpg").stat().st_mode) == 0o644


async def test_overwrite_replaces_in_one_step(
    store: FilesystemBlobStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.put("1/std.jpg", b"old")
    seen_before_replace: list[bytes] = []
    real_replace = os.replace

    def spying_replace(src: str, dst: str | Path) -> None:
        seen_before_replace.append(Path(dst).read_bytes())
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spying_replace)
    await store.put("1/std.jpg", b"new")

    assert seen_before_replace == [b"old"]
    assert await store.read("1/std.jpg") == b"new"
    assert _files(root) == ["1/std.jpg"]


async def test_failed_write_leaves_old_blob_and_no_temp_file(
    store: FilesystemBlobStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.put("1/std.jpg", b"old")

    def failing_replace(src: str, dst: str | Path) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk on fire"):
        await store.put("1/std.jpg", b"new")

    assert (root / "1" / "std.jpg").read_bytes() == b"old"
    assert _files(root) == ["1/std.jpg"]


async def test_read_missing_is_none(store: FilesystemBlobStore) -> None:
    assert await store.read("nope/thumb.jpg") is None
    await store.put("dir/file.jpg", b"x")
    assert await store.read("dir") is None
    assert await store.read("dir/file.jpg/below") is None


async def test_delete_removes_files_and_empty_directories(
    store: FilesystemBlobStore, root: Path
) -> None:
    await store.put("1/thumb.jpg", b"t")
    await store.put("1/std.jpg", b"s")
    await store.put("2/deep/std.jpg", b"s")
    await store.put("3/std.jpg", b"s")

    await store.delete(["1/thumb.jpg", "1/std.jpg", "2/deep/std.jpg", "3/missing.jpg"])

    assert await store.read("1/std.jpg") is None
    assert _files(root) == ["3/std.jpg"]
    assert sorted(p.name for p in root.iterdir()) == ["3"]
    assert root.is_dir()


async def test_delete_of_missing_keys_is_ignored(store: FilesystemBlobStore) -> None:
    await store.delete(["never/was.jpg", "x"])
    await store.delete([])


async def test_put_after_delete_recreates_directories(
    store: FilesystemBlobStore, root: Path
) -> None:
    await store.put("1/std.jpg", b"a")
    await store.delete(["1/std.jpg"])
    await store.put("1/std.jpg", b"b")

    assert await store.read("1/std.jpg") == b"b"


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_bad_keys_are_refused(store: FilesystemBlobStore, root: Path, key: str) -> None:
    with pytest.raises(ValueError, match="invalid blob key"):
        await store.put(key, b"x")
    with pytest.raises(ValueError, match="invalid blob key"):
        await store.read(key)
    with pytest.raises(ValueError, match="invalid blob key"):
        await store.delete(["ok.jpg", key])

    assert not root.exists()


@pytest.mark.parametrize("key", ["a", "123/thumb.jpg", "a-b_c.d/E.F", ".hidden", "x/y/z/w.jpg"])
async def test_good_keys_are_accepted(store: FilesystemBlobStore, key: str) -> None:
    await store.put(key, b"data")
    assert await store.read(key) == b"data"
