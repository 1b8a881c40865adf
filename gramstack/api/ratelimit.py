"""Token buckets per client, in process memory.

Each worker process keeps its own buckets, so the effective limit is the
configured rate times the number of workers at worst; good enough to stop
password guessing at scale without a shared store.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from gramstack.domain.errors import RateLimited

_MAX_CLIENTS = 100_000


class TokenBucketLimiter:
    def __init__(self, per_minute: int) -> None:
        self._capacity = float(max(1, per_minute))
        self._rate = self._capacity / 60.0
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def check(self, client: str) -> None:
        now = time.monotonic()
        tokens, stamp = self._buckets.pop(client, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - stamp) * self._rate)
        if tokens < 1:
            self._buckets[client] = (tokens, now)
            raise RateLimited(retry_after=(1 - tokens) / self._rate)
        self._buckets[client] = (tokens - 1, now)
        while len(self._buckets) > _MAX_CLIENTS:
            self._buckets.popitem(last=False)
