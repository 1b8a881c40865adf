"""The lease cache port: a read-through cache whose misses are loaded by
one caller per key at a time (a lease), however many ask at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

Loader = Callable[[], Awaitable[bytes | None]]
# Loads the values of the keys this caller holds leases for; a key left out
# of the result means "no such object" and is not cached.
ManyLoader = Callable[[Sequence[str]], Awaitable[Mapping[str, bytes]]]


class CacheError(Exception):
    """A cache backend failed; adapters turn this into a load from the store."""


class CacheUnavailable(CacheError, ConnectionError):
    """A cache server could not be reached in time."""


class LeaseCache(Protocol):
    async def get_or_load(self, key: str, loader: Loader, ttl_s: int) -> bytes | None:
        """The cached value, or ``loader()``'s result stored for ``ttl_s``.

        ``None`` from the loader means "no such object" and is not cached.
        Callers that arrive while the value is being loaded wait for that
        load (or, right after an ``invalidate``, get the stale value).
        """
        ...

    async def get_many_or_load(
        self, keys: Sequence[str], loader: ManyLoader, ttl_s: int
    ) -> dict[str, bytes]:
        """Like ``get_or_load`` for a page of keys: the hits in one round
        trip per server, the misses in one ``loader`` call."""
        ...

    async def get(self, key: str) -> bytes | None:
        """A plain read, no lease: for small bookkeeping values."""
        ...

    async def set(self, key: str, value: bytes, ttl_s: int) -> None: ...

    async def invalidate(self, keys: Sequence[str]) -> None:
        """Stale-while-revalidate: the next reader refills each key while the
        others are served the old value for at most the lease time."""
        ...

    async def delete(self, keys: Sequence[str]) -> None:
        """Evict now: every value read afterwards was loaded afterwards.
        The writer uses it for its own keys (read your writes)."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
