"""The lease cache port: a read-through cache whose misses are loaded by
one caller per key at a time (a lease), however many ask at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

Loader = Callable[[], Awaitable[bytes | None]]


class LeaseCache(Protocol):
    async def get_or_load(self, key: str, loader: Loader, ttl_s: int) -> bytes | None:
        """The cached value, or ``loader()``'s result stored for ``ttl_s``.

        ``None`` from the loader means "no such object" and is not cached.
        """
        ...

    async def get(self, key: str) -> bytes | None:
        """A plain read, no lease: for small bookkeeping values."""
        ...

    async def set(self, key: str, value: bytes, ttl_s: int) -> None: ...

    async def invalidate(self, keys: Sequence[str]) -> None: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
