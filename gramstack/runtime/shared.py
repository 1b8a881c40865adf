"""Small tables in shared memory, for every prefork worker of a server.

A file under the data directory is mapped by each process; updates take a
byte-range lock, so they are safe across processes without a server; reads
take none where the slots' loads are atomic (the compiled speedup).
"""

from __future__ import annotations

import fcntl
import functools
import mmap
import os
from collections.abc import Callable
from pathlib import Path

from gramstack.speedups.slots import ATOMIC_LOADS, Slots

_SLOT_BYTES = 8


class SharedMaxTable:
    """key -> the highest value recorded for it, in a small file mapped by
    every worker process of a server (the router keeps each user's last
    write position in one; the outbox keeps its committed head in another).

    Keys share slots by hash and a slot keeps the maximum of its keys'
    values, so a collision can only overstate a value: callers use it where
    that is safe (a read sent to the leader, an outbox query not skipped).

    Writers take the slot's byte-range lock for their read-compare-store, so
    two processes raising one slot keep the larger value. Readers take no
    lock when the slots' loads are atomic (8-byte aligned loads and stores
    with acquire/release order, ``gramstack.speedups.slots``): a reader sees
    a slot's value before or after a store, never half of it, and a value is
    never seen to go down. With the pure-Python twin, reads take the shared
    lock as well (same answers, two system calls more).
    """

    def __init__(self, path: Path, slots: int = 1 << 16) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._slots = slots
        size = slots * _SLOT_BYTES
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < size:
            os.ftruncate(self._fd, size)
        self._map = mmap.mmap(self._fd, size)
        # mmap maps whole pages: every slot is 8-byte aligned.
        self._values = Slots(self._map)

    def _index(self, key: int) -> int:
        if self._slots == 1:
            return 0
        # Fibonacci hashing: IDs differ mostly in their high (time) bits,
        # which a plain modulo would ignore.
        mixed = (key * 0x9E3779B97F4A7C15) & 0xFFFF_FFFF_FFFF_FFFF
        return (mixed >> 32) % self._slots

    def get(self, key: int) -> int:
        index = self._index(key)
        if ATOMIC_LOADS:
            return self._values.load(index)
        offset = index * _SLOT_BYTES
        fcntl.lockf(self._fd, fcntl.LOCK_SH, _SLOT_BYTES, offset, os.SEEK_SET)
        try:
            return self._values.load(index)
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN, _SLOT_BYTES, offset, os.SEEK_SET)

    def reader(self, key: int) -> Callable[[], int]:
        """``get(key)`` as a callable for a hot path: with atomic loads, the
        slot's load itself (no hashing, no Python frame per call)."""
        if ATOMIC_LOADS:
            return functools.partial(self._values.load, self._index(key))
        return functools.partial(self.get, key)

    def raise_to(self, key: int, value: int) -> None:
        index = self._index(key)
        if ATOMIC_LOADS and self._values.load(index) >= value:
            return  # values only grow: nothing to do, no lock needed
        offset = index * _SLOT_BYTES
        fcntl.lockf(self._fd, fcntl.LOCK_EX, _SLOT_BYTES, offset, os.SEEK_SET)
        try:
            if self._values.load(index) < value:
                self._values.store(index, value)
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN, _SLOT_BYTES, offset, os.SEEK_SET)

    def close(self) -> None:
        self._values.release()
        self._map.close()
        os.close(self._fd)
