"""The invalidation service: tail PostgreSQL's write stream, evict what changed.

Like Facebook's mcsqueal, it reads committed changes from a durable logical
replication slot, maps each changed row to cache keys through the one rule
table (``invalidation.rules``), and sends ``md <key> I`` (stale while one
reader refills) to every memcached pool. The slot position is confirmed
only after every pool acknowledged the deletes of those changes, so a crash
or a memcached outage delays invalidation but never loses one.

With regions, one daemon runs per region on its own slot, deleting in that
region's pool only, and only once that region's follower of the primary has
replayed the batch (``replay_gate``); so each region confirms its own slot
after its own pool acknowledged.

With followers (``mark_ttl_s``), each key is first marked as written at a
WAL position the commit is visible at, so that the refill its ``md … I``
invites reads no follower that lacks the change (runtime/write_marks.py);
the writer marks too, but a writer that died after its commit did not.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge, Histogram

from gramstack.cache.memcached import MemcachedLeaseCache
from gramstack.invalidation.pg_slot import LogicalSlotReader, Transaction
from gramstack.invalidation.replay_gate import FollowerReplayGate
from gramstack.invalidation.rules import keys_for

log = logging.getLogger("gramstack.invalidator")

LAG = Histogram(
    "gramstack_invalidator_lag_seconds",
    "Commit of a change to the acknowledged eviction of its keys",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DELETES = Counter("gramstack_invalidator_deletes_total", "Cache keys invalidated")
TRANSACTIONS = Counter("gramstack_invalidator_transactions_total", "Transactions read")
ERRORS = Counter("gramstack_invalidator_errors_total", "Failed rounds, by kind", ["kind"])
SLOT_LAG = Gauge(
    "gramstack_invalidator_slot_lag_bytes", "WAL written but not yet confirmed by the slot"
)

BATCH_TRANSACTIONS = 500
BATCH_WAIT_S = 0.002
RETRY_MAX_S = 2.0
# Lags kept for percentiles (the newest; the histogram above counts them all).
LAGS_KEPT = 100_000


@dataclass
class _Window:
    """What happened since the last periodic log line."""

    transactions: int = 0
    deletes: int = 0
    lags: deque[float] = field(default_factory=lambda: deque(maxlen=LAGS_KEPT))

    def line(self, slot_lag: float | None) -> str:
        if self.lags:
            ordered = sorted(self.lags)
            p50 = statistics.median(ordered)
            p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
            lag = f"lag_p50={p50 * 1000:.1f}ms lag_p99={p99 * 1000:.1f}ms"
        else:
            lag = "lag_p50=- lag_p99=-"
        slot = "-" if slot_lag is None else f"{slot_lag:.0f}"
        return (
            f"transactions={self.transactions} deletes={self.deletes} {lag} slot_lag_bytes={slot}"
        )


class InvalidationDaemon:
    def __init__(
        self,
        reader: LogicalSlotReader,
        pools: Sequence[MemcachedLeaseCache],
        *,
        log_every_s: float = 60.0,
        lags_kept: int = LAGS_KEPT,
        mark_ttl_s: int | None = None,
        replay_gate: FollowerReplayGate | None = None,
    ) -> None:
        self._reader = reader
        self._pools = pools
        self._mark_ttl_s = mark_ttl_s
        self._gate = replay_gate
        self._log_every_s = log_every_s
        self._stopping = asyncio.Event()
        self._window = _Window()
        self.lags: deque[float] = deque(maxlen=lags_kept)  # the newest lags, oldest first
        self.slot_lag_bytes: float | None = None

    def stop(self) -> None:
        self._stopping.set()

    async def _read_batch(self) -> list[Transaction]:
        """Transactions that arrived together, so their deletes share one
        pipelined round trip per server."""
        first = await self._reader.next_transaction(timeout=0.5)
        if first is None:
            return []
        batch = [first]
        while len(batch) < BATCH_TRANSACTIONS:
            more = await self._reader.next_transaction(timeout=BATCH_WAIT_S)
            if more is None:
                break
            batch.append(more)
        return batch

    async def _evict(self, keys: list[str], visible_at: int) -> None:
        """Retry until every pool acknowledged, or the service is stopping."""
        delay = 0.05
        ttl_s = self._mark_ttl_s
        while True:
            try:
                if ttl_s is not None:
                    await asyncio.gather(
                        *(
                            pool.mark_written(keys, visible_at, ttl_s, acknowledged=True)
                            for pool in self._pools
                        )
                    )
                await asyncio.gather(*(pool.invalidate_acknowledged(keys) for pool in self._pools))
                return
            except Exception as exc:
                ERRORS.labels("memcached").inc()
                log.warning("deletes not acknowledged (%r); retrying in %.2fs", exc, delay)
                if self._stopping.is_set():
                    raise
                await asyncio.sleep(delay)
                delay = min(RETRY_MAX_S, delay * 2)

    async def _replayed(self, lsn: int) -> bool:
        """Wait until this region's follower has everything through ``lsn``."""
        return self._gate is None or await self._gate.wait_for(lsn, self._stopping)

    async def run_once(self) -> int:
        """Read, evict, confirm one batch; returns how many transactions."""
        batch = await self._read_batch()
        if not batch:
            return 0
        keys = keys_for(change for txn in batch for change in txn.changes)
        if keys and not await self._replayed(batch[-1].lsn):
            # Stopping before the follower caught up: the slot keeps the
            # batch unconfirmed, so the next run reads it again.
            return 0
        if keys:
            await self._evict(keys, max(txn.visible_at for txn in batch))
        self._reader.confirm(batch[-1].lsn)
        now = time.time()
        for txn in batch:
            lag = max(0.0, now - txn.committed_at)
            LAG.observe(lag)
            self._window.lags.append(lag)
            self.lags.append(lag)
        TRANSACTIONS.inc(len(batch))
        DELETES.inc(len(keys))
        self._window.transactions += len(batch)
        self._window.deletes += len(keys)
        return len(batch)

    async def run(self) -> None:
        last_log = time.monotonic()
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:
                ERRORS.labels("stream").inc()
                if self._stopping.is_set():
                    break
                raise
            if time.monotonic() - last_log >= self._log_every_s:
                log.info("invalidator: %s", self._window.line(self.slot_lag_bytes))
                self._window = _Window()
                last_log = time.monotonic()
