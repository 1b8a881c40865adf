"""The shared outbox head lets a worker skip the outbox query while nothing
new was committed, and only then."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gramstack.cache.memory import InProcessLeaseCache
from gramstack.invalidation.outbox import OutboxSyncedCache
from gramstack.runtime.shared import SharedMaxTable


class _CountingTailer:
    """Stands in for OutboxTailer: counts catch-ups, moves to the head."""

    def __init__(self, head: SharedMaxTable) -> None:
        self.position = 0
        self.catch_ups = 0
        self._head = head

    async def catch_up(self) -> None:
        self.catch_ups += 1
        self.position = self._head.get(0)


async def _value() -> bytes:
    return b"v"


async def test_reads_skip_the_outbox_until_another_process_commits(tmp_path: Path) -> None:
    path = tmp_path / "run" / "outbox-head.bin"
    mine, other_worker = SharedMaxTable(path, slots=1), SharedMaxTable(path, slots=1)
    tailer = _CountingTailer(mine)
    tailer_any: Any = tailer
    cache = OutboxSyncedCache(
        InProcessLeaseCache(1 << 20), tailer_any, committed_head=lambda: mine.get(0)
    )
    for _ in range(5):
        assert await cache.get_or_load("k", _value, 60) == b"v"
    assert tailer.catch_ups == 0

    other_worker.raise_to(0, 7)  # a commit made through the other worker
    await cache.get_or_load("k", _value, 60)
    assert (tailer.catch_ups, tailer.position) == (1, 7)
    await cache.get_or_load("k", _value, 60)
    assert tailer.catch_ups == 1  # caught up: nothing new to ask about


def test_the_table_keeps_the_maximum_across_processes(tmp_path: Path) -> None:
    one = SharedMaxTable(tmp_path / "t", slots=1)
    two = SharedMaxTable(tmp_path / "t", slots=1)
    one.raise_to(0, 10)
    two.raise_to(0, 4)
    assert (one.get(0), two.get(0)) == (10, 10)
