"""Time-sortable 64-bit IDs, laid out as Instagram's ``next_id()``:

    | 41 bits: ms since EPOCH_MS | 13 bits: logical shard | 10 bits: sequence |

Sorting by ID sorts by creation time (to the millisecond), which is what
keyset pagination and timelines rely on. Uniqueness across processes comes
from the shard: every generator holds a lease on its own shard number (see
``IdShardLeases.lease_id_shard``), so two processes never share the
(ms, shard) space, and the sequence makes IDs unique inside one process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
TIME_BITS = 41
SHARD_BITS = 13
SEQUENCE_BITS = 10
MAX_SHARD = (1 << SHARD_BITS) - 1
MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1
MAX_ID = (1 << (TIME_BITS + SHARD_BITS + SEQUENCE_BITS)) - 1


def compose_id(ms_since_epoch: int, shard: int, sequence: int) -> int:
    if not 0 <= ms_since_epoch < (1 << TIME_BITS):
        raise ValueError("time out of range")
    if not 0 <= shard <= MAX_SHARD:
        raise ValueError("shard out of range")
    if not 0 <= sequence <= MAX_SEQUENCE:
        raise ValueError("sequence out of range")
    return (ms_since_epoch << (SHARD_BITS + SEQUENCE_BITS)) | (shard << SEQUENCE_BITS) | sequence


def id_parts(ident: int) -> tuple[int, int, int]:
    """(ms since epoch, shard, sequence) of an ID."""
    return (
        ident >> (SHARD_BITS + SEQUENCE_BITS),
        (ident >> SEQUENCE_BITS) & MAX_SHARD,
        ident & MAX_SEQUENCE,
    )


def id_unix_ms(ident: int) -> int:
    return id_parts(ident)[0] + EPOCH_MS


def lowest_id_at(unix_ms: int) -> int:
    """The smallest ID any generator can produce at ``unix_ms``."""
    return max(0, unix_ms - EPOCH_MS) << (SHARD_BITS + SEQUENCE_BITS)


class IdGenerator:
    """IDs for one shard; safe to share between threads of one process.

    When 1,024 IDs are taken in one millisecond, or the clock steps back,
    the generator waits for (or borrows from) the next millisecond rather
    than reuse a (ms, sequence) pair.
    """

    def __init__(self, shard: int, clock_ms: Callable[[], int] | None = None) -> None:
        if not 0 <= shard <= MAX_SHARD:
            raise ValueError("shard out of range")
        self.shard = shard
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._lock = threading.Lock()
        self._last_ms = -1
        self._sequence = 0

    def next_id(self) -> int:
        return self._take(1)

    def next_id_pair(self) -> int:
        """An ID whose successor (the ID + 1) no call ever returns: an object
        whose one ID names two things (a comment, and the mention item it
        makes in its post owner's inbox beside the comment item) takes both."""
        return self._take(2)

    def _take(self, count: int) -> int:
        """The first of ``count`` consecutive IDs of one millisecond."""
        with self._lock:
            now = self._clock_ms() - EPOCH_MS
            if now > self._last_ms:
                self._last_ms = now
                self._sequence = 0
            elif self._sequence + count <= MAX_SEQUENCE:
                self._sequence += 1
            else:
                # Sequence space of this millisecond is used up (or the clock
                # went back): move on to the next millisecond of our own.
                self._last_ms += 1
                self._sequence = 0
            first = self._sequence
            self._sequence += count - 1
            return compose_id(self._last_ms, self.shard, first)
