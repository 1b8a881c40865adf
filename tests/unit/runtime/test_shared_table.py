"""SharedMaxTable across processes: writers racing on one slot keep the
maximum, readers never see a value go down or half a value, and (with the
compiled slots) a reader is not held up by a writer holding the slot lock."""

from __future__ import annotations

import fcntl
import multiprocessing
import multiprocessing.synchronize
import os
import time
from pathlib import Path

import pytest

from gramstack.runtime import shared
from gramstack.runtime.shared import SharedMaxTable
from tests.unit.speedups.conftest import IMPLEMENTATIONS, load

WRITERS = 3
STEPS = 3000


@pytest.fixture(params=IMPLEMENTATIONS)
def implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the table on the compiled slots (lock-free reads) and on the twin
    (locked reads); forked children inherit the choice."""
    slots = load("slots", str(request.param))
    monkeypatch.setattr(shared, "Slots", slots.Slots)
    monkeypatch.setattr(shared, "ATOMIC_LOADS", slots.ATOMIC_LOADS)
    return str(request.param)


def _value(step: int) -> int:
    # Both 32-bit halves equal: a torn read would show unequal halves.
    return step << 32 | step


def _raise_steps(path: Path, first: int) -> None:
    table = SharedMaxTable(path, slots=4)
    for step in range(first, STEPS, WRITERS):
        table.raise_to(7, _value(step))
    table.close()


def test_racing_writers_keep_the_maximum_and_readers_never_go_back(
    implementation: str, tmp_path: Path
) -> None:
    path = tmp_path / "run" / "table.bin"
    reader = SharedMaxTable(path, slots=4)
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_raise_steps, args=(path, n)) for n in range(WRITERS)]
    for writer in writers:
        writer.start()
    last = 0
    while any(writer.is_alive() for writer in writers):
        value = reader.get(7)
        assert value >> 32 == value & 0xFFFF_FFFF, f"torn read {value:#x}"
        assert value >= last, "a maximum went down"
        last = value
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    assert reader.get(7) == _value(STEPS - 1)
    # Another key that hashes to another slot was never raised.
    assert {reader.get(k) for k in range(20)} >= {0, _value(STEPS - 1)}
    reader.close()


def _hold_lock(
    path: Path,
    offset: int,
    locked: multiprocessing.synchronize.Event,
    release: multiprocessing.synchronize.Event,
) -> None:
    fd = os.open(path, os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX, 8, offset, os.SEEK_SET)
    locked.set()
    release.wait(10)
    fcntl.lockf(fd, fcntl.LOCK_UN, 8, offset, os.SEEK_SET)
    os.close(fd)


def test_a_reader_waits_for_a_writer_only_without_atomic_loads(
    implementation: str, tmp_path: Path
) -> None:
    path = tmp_path / "table.bin"
    table = SharedMaxTable(path, slots=1)
    table.raise_to(0, 41)
    context = multiprocessing.get_context("fork")
    locked, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_lock, args=(path, 0, locked, release))
    holder.start()
    assert locked.wait(10)
    context.Process(target=_release_later, args=(release,)).start()
    started = time.monotonic()
    assert table.get(0) == 41
    waited = time.monotonic() - started
    if implementation == "compiled":
        assert waited < 0.2  # read while the writer's lock was held
    else:
        assert waited >= 0.25  # the twin's read took the lock: it waited for the release
    release.set()
    holder.join()
    table.close()


def _release_later(release: multiprocessing.synchronize.Event) -> None:
    time.sleep(0.3)
    release.set()


def test_a_reader_follows_the_slot_as_get_does(implementation: str, tmp_path: Path) -> None:
    """``reader(key)``: the hot path's getter sees every later raise, from
    this process or another, exactly as ``get`` would."""
    path = tmp_path / "run" / "head.bin"
    mine, other = SharedMaxTable(path, slots=1), SharedMaxTable(path, slots=1)
    head = mine.reader(0)
    assert head() == mine.get(0) == 0
    other.raise_to(0, 41)
    assert head() == mine.get(0) == 41
    mine.raise_to(0, 40)  # values only grow
    assert head() == 41
    wide = SharedMaxTable(tmp_path / "wide.bin", slots=64)
    wide.raise_to(12345, 9)
    assert [wide.reader(k)() for k in (12345, 1, 2)] == [wide.get(k) for k in (12345, 1, 2)]
    for table in (mine, other, wide):
        table.close()
