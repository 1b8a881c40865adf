"""Hold a region's evictions until that region's follower has the change.

A server reads from its region's follower of the global primary. Deleting a
key in the region's pool before that follower replayed the commit lets the
next reader refill the key from the follower with the old row, and nothing
would evict it again; so each region's invalidator first waits until its
follower's replay position reaches the commit's end LSN (the way Facebook's
mcsqueal runs on each region's replica, reading only what it has).
"""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg

log = logging.getLogger("gramstack.invalidator")

POLL_S = 0.005
CONNECT_TIMEOUT_S = 5.0
LOG_EVERY_S = 5.0


class FollowerReplayGate:
    def __init__(self, region: str, dsn: str) -> None:
        self.region = region
        self._dsn = dsn
        self._conn: asyncpg.Connection | None = None
        self.replayed = 0  # the highest replay position seen

    async def _replay_lsn(self) -> int:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(
                self._dsn, timeout=CONNECT_TIMEOUT_S, command_timeout=CONNECT_TIMEOUT_S
            )
        value = await self._conn.fetchval("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn")
        return 0 if value is None else int(value)

    async def wait_for(self, lsn: int, stopping: asyncio.Event) -> bool:
        """Return True once the follower replayed through ``lsn``; False if
        ``stopping`` was set first. Failures to reach the follower are
        retried: an unreachable follower holds evictions, it never skips them."""
        waited_since = time.monotonic()
        last_log = waited_since
        while self.replayed < lsn:
            try:
                self.replayed = max(self.replayed, await self._replay_lsn())
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                await self.close()
                log.warning("follower %s replay position unreadable (%r)", self.region, exc)
            if self.replayed >= lsn:
                break
            now = time.monotonic()
            if now - last_log >= LOG_EVERY_S:
                log.warning(
                    "evictions held %.0fs: follower %s replayed %s bytes short of the commit",
                    now - waited_since,
                    self.region,
                    lsn - self.replayed,
                )
                last_log = now
            try:
                await asyncio.wait_for(stopping.wait(), POLL_S)
                return False
            except TimeoutError:
                pass
        return True

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None
