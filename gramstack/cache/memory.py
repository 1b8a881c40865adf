"""In-process lease cache: the embedded default.

The lease becomes single-flight: the first caller to miss a key creates a
future and loads; every other caller for that key awaits the same future,
so a cold key costs one database query per process. Memory is bounded by
an LRU over the stored bytes.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Sequence

from gramstack.cache.ports import Loader


class InProcessLeaseCache:
    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._loading: dict[str, asyncio.Future[bytes | None]] = {}
        self._raced: set[str] = set()  # invalidated while a load was in flight

    def _get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires < time.monotonic():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return value

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(key) + len(entry[0])

    def _put(self, key: str, value: bytes, ttl_s: int) -> None:
        self._drop(key)
        size = len(key) + len(value)
        if size > self._max_bytes:
            return
        self._entries[key] = (value, time.monotonic() + ttl_s)
        self._bytes += size
        while self._bytes > self._max_bytes:
            oldest, _ = next(iter(self._entries.items()))
            self._drop(oldest)

    async def get_or_load(self, key: str, loader: Loader, ttl_s: int) -> bytes | None:
        cached = self._get(key)
        if cached is not None:
            return cached
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await loader()
        except BaseException as exc:
            future.set_exception(exc)
            # The waiters see the same error; nobody needs to retrieve it here.
            future.exception()
            raise
        finally:
            del self._loading[key]
            raced = key in self._raced
            self._raced.discard(key)
        # An invalidation that raced the load makes the loaded value suspect:
        # hand it to this round of callers but do not keep it.
        if value is not None and not raced:
            self._put(key, value, ttl_s)
        future.set_result(value)
        return value

    async def get(self, key: str) -> bytes | None:
        return self._get(key)

    async def set(self, key: str, value: bytes, ttl_s: int) -> None:
        self._put(key, value, ttl_s)
        if key in self._loading:
            self._raced.add(key)

    async def invalidate(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._drop(key)
            if key in self._loading:
                self._raced.add(key)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()
        self._bytes = 0
