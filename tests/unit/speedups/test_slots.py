"""Shared 8-byte slots: both implementations store and load alike, share
one layout, and no load ever sees half of a store made by another process."""

from __future__ import annotations

import mmap
import multiprocessing
import time
from types import ModuleType

import pytest

from tests.unit.speedups.conftest import load

# Every byte of a stored value is equal: a load that mixed two stores
# (a torn read) would show unequal bytes.
PATTERNS = [k * 0x0101_0101_0101_0101 for k in range(128)]


@pytest.fixture(scope="module")
def slots(implementation: str) -> ModuleType:
    return load("slots", implementation)


def test_stores_come_back_as_stored(slots: ModuleType) -> None:
    region = mmap.mmap(-1, 4 * 8)
    table = slots.Slots(region)
    assert len(table) == 4
    assert [table.load(i) for i in range(4)] == [0, 0, 0, 0]
    for index, value in enumerate([1, -1, (1 << 63) - 1, -(1 << 63)]):
        table.store(index, value)
    assert [table.load(i) for i in range(4)] == [1, -1, (1 << 63) - 1, -(1 << 63)]
    table.release()
    region.close()


def test_out_of_range_and_released_slots_are_refused(slots: ModuleType) -> None:
    region = mmap.mmap(-1, 2 * 8)
    table = slots.Slots(region)
    for index in (-1, 2):
        with pytest.raises(IndexError):
            table.load(index)
        with pytest.raises(IndexError):
            table.store(index, 1)
    with pytest.raises(OverflowError):
        table.store(0, 1 << 63)
    table.release()
    with pytest.raises(ValueError):
        table.load(0)
    table.release()  # twice is harmless
    region.close()  # the buffer is no longer held


def test_a_read_only_buffer_is_refused(slots: ModuleType) -> None:
    with pytest.raises((TypeError, BufferError)):
        slots.Slots(bytes(16))


def test_both_implementations_share_one_layout() -> None:
    """Worker processes with and without the extension map the same file."""
    region = mmap.mmap(-1, 3 * 8)
    compiled = load("slots", "compiled").Slots(region)
    twin = load("slots", "twin").Slots(region)
    compiled.store(1, 0x1122_3344_5566_7788)
    twin.store(2, -5)
    assert twin.load(1) == 0x1122_3344_5566_7788
    assert compiled.load(2) == -5
    assert region[8:16] == (0x1122_3344_5566_7788).to_bytes(8, "little")
    compiled.release()
    twin.release()
    region.close()


def _store_patterns(implementation: str, region: mmap.mmap) -> None:
    """Store the patterns into slot 0 until slot 1 says stop."""
    table = load("slots", implementation).Slots(region)
    table.store(2, table.load(2) + 1)  # racy, but only ever read as "started"
    while not table.load(1):
        for value in PATTERNS:
            table.store(0, value)
    table.release()


def test_loads_never_see_half_a_store_from_other_processes(slots: ModuleType) -> None:
    implementation = "compiled" if slots.ATOMIC_LOADS else "twin"
    region = mmap.mmap(-1, mmap.PAGESIZE)  # anonymous and shared: forked children write it
    table = slots.Slots(region)
    context = multiprocessing.get_context("fork")
    writers = [
        context.Process(target=_store_patterns, args=(implementation, region)) for _ in range(2)
    ]
    for writer in writers:
        writer.start()
    while not table.load(2):
        time.sleep(0.001)
    seen: set[int] = set()
    stop = time.monotonic() + 0.5
    while time.monotonic() < stop:
        for _ in range(1000):
            seen.add(table.load(0))
    table.store(1, 1)
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    assert seen <= set(PATTERNS)
    assert len(seen) > 1  # the loads did overlap the stores
    table.release()
    region.close()
