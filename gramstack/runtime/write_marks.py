"""``SharedWriteMarks``: the follower router's read-your-writes positions,
kept in this server's shared-memory table and in the lease cache.

It lives with the wiring rather than in ``storage``: it needs the cache and
the shared-memory table, and storage imports nothing above it (it only
declares the ``WriteMarks`` port this implements).
"""

from __future__ import annotations

import logging

from gramstack.cache import keys
from gramstack.cache.ports import LeaseCache
from gramstack.runtime.shared import SharedMaxTable

log = logging.getLogger("gramstack.storage.router")


class SharedWriteMarks:
    """Where each user's last write sits in the WAL: the local shared table
    for this server's workers, and the lease cache (``ttl_s``) for other
    servers when the cache is shared."""

    def __init__(self, table: SharedMaxTable | None, cache: LeaseCache, ttl_s: int) -> None:
        self._table = table
        self._cache = cache
        self._ttl_s = ttl_s

    async def remember(self, user_id: int, lsn: int) -> None:
        if self._table is not None:
            self._table.raise_to(user_id, lsn)
        try:
            await self._cache.set(keys.write_lsn_key(user_id), str(lsn).encode(), self._ttl_s)
        except Exception:
            log.warning("could not store the write position of user %s", user_id, exc_info=True)

    async def position(self, user_id: int) -> int:
        local = self._table.get(user_id) if self._table is not None else 0
        try:
            cached = await self._cache.get(keys.write_lsn_key(user_id))
        except Exception:
            # Cannot tell: the leader is always safe.
            log.warning("could not read the write position of user %s", user_id, exc_info=True)
            return 1 << 62
        return max(local, int(cached) if cached else 0)

    def close(self) -> None:
        if self._table is not None:
            self._table.close()
            self._table = None
