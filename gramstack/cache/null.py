"""``cache_backend = none``: every read goes to the store. The benchmark's
baseline, and a way to rule the cache out when chasing a bug."""

from __future__ import annotations

from collections.abc import Sequence

from gramstack.cache.ports import Loader, ManyLoader


class NullLeaseCache:
    async def get_or_load(self, key: str, loader: Loader, ttl_s: int) -> bytes | None:
        return await loader()

    async def get_many_or_load(
        self, keys: Sequence[str], loader: ManyLoader, ttl_s: int
    ) -> dict[str, bytes]:
        unique = list(dict.fromkeys(keys))
        return dict(await loader(unique)) if unique else {}

    async def get(self, key: str) -> bytes | None:
        return None

    async def set(self, key: str, value: bytes, ttl_s: int) -> None:
        return None

    async def invalidate(self, keys: Sequence[str]) -> None:
        return None

    async def delete(self, keys: Sequence[str]) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
