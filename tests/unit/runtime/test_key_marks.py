"""Key marks and fresh fills: a fill of a marked key reads under the mark's
floor, taken after the lease was won (the router honours it; see
tests/integration/cache/test_fresh_fills.py for real replication)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from gramstack.cache.memory import InProcessLeaseCache
from gramstack.runtime.shared import SharedMaxTable
from gramstack.runtime.write_marks import FreshFillCache, SharedKeyMarks
from gramstack.storage.ports import read_floor


@pytest.fixture
def marks(tmp_path: Path) -> Iterator[SharedKeyMarks]:
    found = SharedKeyMarks(SharedMaxTable(tmp_path / "key-lsn.bin"))
    yield found
    found.close()


def test_marks_only_grow_and_are_shared_by_every_process_mapping_the_file(
    marks: SharedKeyMarks, tmp_path: Path
) -> None:
    marks.mark(["v1:media:1", "v1:user:2"], 500)
    marks.mark(["v1:media:1"], 400)  # an older write, told late
    other = SharedKeyMarks(SharedMaxTable(tmp_path / "key-lsn.bin"))
    try:
        assert other.floor(["v1:media:1"]) == 500
        assert other.floor(["v1:user:2", "v1:media:9"]) == 500
        assert other.floor(["v1:media:9"]) == 0
    finally:
        other.close()


async def test_a_fill_reads_under_the_floor_of_its_keys(marks: SharedKeyMarks) -> None:
    cache = FreshFillCache(InProcessLeaseCache(1 << 20), marks)
    floors: list[int] = []

    async def load() -> bytes:
        floors.append(read_floor.get())
        return b"v"

    async def load_many(keys: Sequence[str]) -> Mapping[str, bytes]:
        floors.append(read_floor.get())
        return dict.fromkeys(keys, b"v")

    await cache.get_or_load("v1:media:1", load, 60)
    marks.mark(["v1:media:1"], 700)
    await cache.delete(["v1:media:1"])
    await cache.get_or_load("v1:media:1", load, 60)
    await cache.get_or_load("v1:media:1", load, 60)  # a hit: no load
    marks.mark(["v1:media:3"], 900)
    await cache.get_many_or_load(["v1:media:2", "v1:media:3"], load_many, 60)
    assert floors == [0, 700, 900]
    assert read_floor.get() == 0  # restored after each fill


async def test_the_mark_is_read_after_the_lease_is_won(marks: SharedKeyMarks) -> None:
    """A write marked and evicted while a fill is being loaded: that load is
    not stored, and the next one reads under the new floor."""
    cache = FreshFillCache(InProcessLeaseCache(1 << 20), marks)
    loading, release = asyncio.Event(), asyncio.Event()
    floors: list[int] = []

    async def slow() -> bytes:
        floors.append(read_floor.get())
        loading.set()
        await release.wait()
        return b"old"

    first = asyncio.create_task(cache.get_or_load("v1:user:5", slow, 60))
    await loading.wait()
    marks.mark(["v1:user:5"], 300)
    await cache.delete(["v1:user:5"])
    release.set()
    assert await first == b"old"  # its caller asked before the write

    async def fresh() -> bytes:
        floors.append(read_floor.get())
        return b"new"

    assert await cache.get_or_load("v1:user:5", fresh, 60) == b"new"
    assert floors == [0, 300]
