"""``gramstack invalidator``: the invalidation daemon as its own process.

It serves its metrics on its own port, reports slot lag (WAL the slot has
not confirmed), reconnects when PostgreSQL goes away (unconfirmed changes
are simply sent again), and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass

import asyncpg
from prometheus_client import start_http_server

from gramstack.cache.memcached import MemcachedLeaseCache
from gramstack.invalidation.daemon import ERRORS, SLOT_LAG, InvalidationDaemon
from gramstack.invalidation.pg_slot import LogicalSlotReader
from gramstack.invalidation.replay_gate import FollowerReplayGate
from gramstack.invalidation.rules import TABLES
from gramstack.runtime.config import ConfigError, Settings
from gramstack.runtime.wiring import mark_ttl_s, memcached_lease_cache

log = logging.getLogger("gramstack.invalidator")

RECONNECT_MAX_S = 5.0
SLOT_LAG_TIMEOUT_S = 5.0


def _pools(settings: Settings) -> list[MemcachedLeaseCache]:
    # One invalidator per region, each on its own slot: this one deletes in
    # its home region's pool (the other regions' invalidators in theirs).
    return [memcached_lease_cache(settings)]


def _replay_gate(settings: Settings) -> FollowerReplayGate | None:
    """The home region's follower of the primary, when there is one: the
    pool is read through it, so evictions wait for its replay."""
    dsn = settings.follower_urls.get(settings.region)
    return None if dsn is None else FollowerReplayGate(settings.region, dsn)


@dataclass
class _SlotLag:
    """The lag watcher's last reading, kept across stream reconnects: the
    daemon of the moment shows it in its log line."""

    bytes: float | None = None
    daemon: InvalidationDaemon | None = None

    def record(self, lag: float) -> None:
        self.bytes = lag
        SLOT_LAG.set(lag)
        if self.daemon is not None:
            self.daemon.slot_lag_bytes = lag

    def follow(self, daemon: InvalidationDaemon) -> None:
        self.daemon = daemon
        daemon.slot_lag_bytes = self.bytes


async def _watch_slot_lag(settings: Settings, reading: _SlotLag) -> None:
    """Read the slot's lag every ``invalidator_slot_lag_every_s``, forever:
    any failure (a terminated backend, a closed connection, a server that
    does not answer) costs one reconnect, never the watcher."""
    every_s = settings.invalidator_slot_lag_every_s
    while True:
        conn: asyncpg.Connection | None = None
        try:
            conn = await asyncpg.connect(
                settings.database_url,
                timeout=SLOT_LAG_TIMEOUT_S,
                command_timeout=SLOT_LAG_TIMEOUT_S,
            )
            while True:
                lag = await conn.fetchval(
                    "SELECT pg_current_wal_lsn() - confirmed_flush_lsn"
                    " FROM pg_replication_slots WHERE slot_name = $1",
                    settings.invalidator_slot,
                )
                if lag is not None:
                    reading.record(float(lag))
                await asyncio.sleep(every_s)
        except Exception as exc:
            ERRORS.labels("slot_lag").inc()
            log.warning("slot lag query failed (%r); reconnecting", exc)
        finally:
            if conn is not None:
                conn.terminate()  # a polite close could wait on a hung server
        await asyncio.sleep(min(every_s, RECONNECT_MAX_S))


async def serve_invalidator(settings: Settings) -> None:
    settings = settings.with_home_memcached()
    if not settings.database_url or not settings.memcached_servers:
        raise ConfigError(
            "the invalidator needs database_url and memcached_servers"
            " (or region_memcached for its region)"
        )
    start_http_server(settings.invalidator_metrics_port, addr=settings.invalidator_host)
    gate = _replay_gate(settings)
    log.info(
        "invalidator starting region=%s slot=%s tables=%s memcached=%s waits_for=%s metrics=%s:%s",
        settings.region,
        settings.invalidator_slot,
        ",".join(TABLES),
        ",".join(f"{host}:{port}" for host, port in settings.memcached_servers),
        "-" if gate is None else f"follower:{settings.region}",
        settings.invalidator_host,
        settings.invalidator_metrics_port,
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)

    pools = _pools(settings)
    delay = 0.1
    daemon: InvalidationDaemon | None = None
    slot_lag = _SlotLag()
    lag_task = asyncio.create_task(_watch_slot_lag(settings, slot_lag))
    try:
        while not stopping.is_set():
            reader = LogicalSlotReader(settings.database_url, settings.invalidator_slot, TABLES)
            try:
                await reader.open()
                daemon = InvalidationDaemon(
                    reader,
                    pools,
                    log_every_s=settings.invalidator_log_every_s,
                    mark_ttl_s=mark_ttl_s(settings) if settings.follower_urls else None,
                    replay_gate=gate,
                )
                slot_lag.follow(daemon)
                run = asyncio.create_task(daemon.run())
                stop = asyncio.create_task(stopping.wait())
                done, _ = await asyncio.wait({run, stop}, return_when=asyncio.FIRST_COMPLETED)
                if run in done:
                    run.result()
                else:
                    daemon.stop()
                    # Let the batch in hand finish (its slot position is then
                    # confirmed); a cut-off batch is simply read again later.
                    with contextlib.suppress(Exception, TimeoutError):
                        await asyncio.wait_for(run, 5)
                stop.cancel()
                delay = 0.1
            except Exception as exc:
                log.warning("change stream lost (%r); reconnecting in %.1fs", exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), delay)
                delay = min(RECONNECT_MAX_S, delay * 2)
            finally:
                await reader.close()
    finally:
        lag_task.cancel()
        for pool in pools:
            await pool.close()
        if gate is not None:
            await gate.close()
        log.info(
            "invalidator stopped region=%s slot=%s", settings.region, settings.invalidator_slot
        )
