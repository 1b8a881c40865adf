"""Rate limits as token buckets kept in the primary store, so every worker
process and server shares them (an in-process bucket per worker would let
N workers allow N times the rate)."""

from __future__ import annotations

import random

from gramstack.domain.backends import Backends
from gramstack.domain.errors import RateLimited

_IDLE_MS = 3_600_000


async def spend(b: Backends, bucket: str, per_minute: int) -> None:
    capacity = float(max(1, per_minute))
    now = b.clock_ms()
    wait_ms = await b.store.buckets.take_token(bucket, capacity, capacity / 60_000, now)
    if random.random() < 0.001:
        # Housekeeping now and then, instead of a separate sweeper process.
        await b.store.buckets.forget_idle_buckets(now - _IDLE_MS)
    if wait_ms > 0:
        raise RateLimited(retry_after=wait_ms / 1000)
