"""Small tables in shared memory, for every prefork worker of a server.

A file under the data directory is mapped by each process; updates take a
byte-range lock, so they are safe across processes without a server.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
from pathlib import Path


class SharedMaxTable:
    """key -> the highest value recorded for it, in a small file mapped by
    every worker process of a server (the router keeps each user's last
    write position in one; the outbox keeps its committed head in another).

    Keys share slots by hash and a slot keeps the maximum of its keys'
    values, so a collision can only overstate a value: callers use it where
    that is safe (a read sent to the leader, an outbox query not skipped).
    """

    _SLOT = struct.Struct("<q")

    def __init__(self, path: Path, slots: int = 1 << 16) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._slots = slots
        size = slots * self._SLOT.size
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < size:
            os.ftruncate(self._fd, size)
        self._map = mmap.mmap(self._fd, size)

    def _offset(self, key: int) -> int:
        # Fibonacci hashing: IDs differ mostly in their high (time) bits,
        # which a plain modulo would ignore.
        mixed = (key * 0x9E3779B97F4A7C15) & 0xFFFF_FFFF_FFFF_FFFF
        return ((mixed >> 32) % self._slots) * self._SLOT.size

    def get(self, key: int) -> int:
        offset = self._offset(key)
        fcntl.lockf(self._fd, fcntl.LOCK_SH, self._SLOT.size, offset, os.SEEK_SET)
        try:
            return int(self._SLOT.unpack_from(self._map, offset)[0])
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN, self._SLOT.size, offset, os.SEEK_SET)

    def raise_to(self, key: int, value: int) -> None:
        offset = self._offset(key)
        fcntl.lockf(self._fd, fcntl.LOCK_EX, self._SLOT.size, offset, os.SEEK_SET)
        try:
            if self._SLOT.unpack_from(self._map, offset)[0] < value:
                self._SLOT.pack_into(self._map, offset, value)
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN, self._SLOT.size, offset, os.SEEK_SET)

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)
