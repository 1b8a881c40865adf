"""The location cache every worker process of a host shares (Akkio's
client-side cache, T2's shared memory).

An open-addressing hash table in a file each process maps: a slot holds a
user ID, the region, move target and state as small indexes, the epoch
and an expiry time. A lookup is a few ``struct`` reads of the mapping, no
system call; each slot carries a sequence number (a seqlock: odd while a
write is under way) so a reader never takes a half-written slot. Writers,
rarer (a miss, a move), take a ``lockf`` lock so they do not interleave.

Nothing is ever removed: a full probe run overwrites its first slot, so a
lookup stops at the first empty slot and an evicted user is just a miss.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
from pathlib import Path
from typing import NamedTuple

# user_id, seq, epoch, expires_ms, region, target, state (indexes), padding
_SLOT = struct.Struct("<qQqqBBB5x")
_SEQ = struct.Struct("<Q")
_SEQ_AT = 8
_SLOT_SIZE = _SLOT.size
_PROBES = 8
NO_TARGET = 255
# Bound once: a lookup is a handful of these calls, and attribute lookups
# are a good part of its cost.
_read_slot = _SLOT.unpack_from
_read_seq = _SEQ.unpack_from


class CachedLocation(NamedTuple):
    region: int  # index into the configured region list
    target: int  # NO_TARGET when no move is under way
    state: int  # index into placement.routes.STATES
    epoch: int
    expires_ms: int


_new_tuple = tuple.__new__


class SharedLocationCache:
    def __init__(self, path: Path, slots: int = 1 << 18) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._slots = slots
        size = slots * _SLOT.size
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < size:
            os.ftruncate(self._fd, size)
        self._map = mmap.mmap(self._fd, size)

    def _first(self, user_id: int) -> int:
        # Fibonacci hashing: IDs differ mostly in their high (time) bits.
        return (((user_id * 0x9E3779B97F4A7C15) & 0xFFFF_FFFF_FFFF_FFFF) >> 20) % self._slots

    def get(self, user_id: int, now_ms: int) -> CachedLocation | None:
        """The unexpired entry for ``user_id``, or None."""
        view, slots, index = self._map, self._slots, self._first(user_id)
        for _ in range(_PROBES):
            offset = index * _SLOT_SIZE
            index = index + 1 if index + 1 < slots else 0
            for _ in range(8):
                (before,) = _read_seq(view, offset + _SEQ_AT)
                slot_user, seq, epoch, expires, region, target, state = _read_slot(view, offset)
                if seq == before and not seq & 1:
                    break
            else:
                return None  # a writer holds it: ask the table
            if slot_user == user_id:
                if expires <= now_ms:
                    return None
                # tuple.__new__ directly: a NamedTuple's own constructor is
                # a Python-level function, a good part of this lookup.
                return _new_tuple(CachedLocation, (region, target, state, epoch, expires))
            if slot_user == 0:
                return None
        return None

    def put(self, user_id: int, entry: CachedLocation) -> None:
        fcntl.lockf(self._fd, fcntl.LOCK_EX)
        try:
            view, first, slots = self._map, self._first(user_id), self._slots
            chosen = first * _SLOT.size
            for probe in range(_PROBES):
                offset = ((first + probe) % slots) * _SLOT.size
                slot_user = _SLOT.unpack_from(view, offset)[0]
                if slot_user in (user_id, 0):
                    chosen = offset
                    break
            (seq,) = _SEQ.unpack_from(view, chosen + _SEQ_AT)
            _SEQ.pack_into(view, chosen + _SEQ_AT, seq + 1)
            _SLOT.pack_into(
                view,
                chosen,
                user_id,
                seq + 1,
                entry.epoch,
                entry.expires_ms,
                entry.region,
                entry.target,
                entry.state,
            )
            _SEQ.pack_into(view, chosen + _SEQ_AT, seq + 2)
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)
