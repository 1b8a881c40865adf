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

import asyncpg
from prometheus_client import start_http_server

from gramstack.cache.memcached import MemcachedLeaseCache
from gramstack.invalidation.daemon import SLOT_LAG, InvalidationDaemon
from gramstack.invalidation.pg_slot import LogicalSlotReader
from gramstack.invalidation.rules import TABLES
from gramstack.runtime.config import ConfigError, Settings
from gramstack.runtime.wiring import memcached_lease_cache

log = logging.getLogger("gramstack.invalidator")

SLOT_LAG_EVERY_S = 5.0
RECONNECT_MAX_S = 5.0


def _pools(settings: Settings) -> list[MemcachedLeaseCache]:
    # One pool per region once regions have pools of their own; today the
    # settings name one pool (and its gutter), which is every region's.
    return [memcached_lease_cache(settings)]


async def _watch_slot_lag(settings: Settings, daemon: InvalidationDaemon) -> None:
    while True:
        try:
            conn = await asyncpg.connect(settings.database_url)
            try:
                while True:
                    lag = await conn.fetchval(
                        "SELECT pg_current_wal_lsn() - confirmed_flush_lsn"
                        " FROM pg_replication_slots WHERE slot_name = $1",
                        settings.invalidator_slot,
                    )
                    if lag is not None:
                        daemon.slot_lag_bytes = float(lag)
                        SLOT_LAG.set(float(lag))
                    await asyncio.sleep(SLOT_LAG_EVERY_S)
            finally:
                await conn.close()
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("slot lag query failed: %r", exc)
            await asyncio.sleep(SLOT_LAG_EVERY_S)


async def serve_invalidator(settings: Settings) -> None:
    if not settings.database_url or not settings.memcached_servers:
        raise ConfigError("the invalidator needs database_url and memcached_servers")
    start_http_server(settings.invalidator_metrics_port, addr=settings.invalidator_host)
    log.info(
        "invalidator starting slot=%s tables=%s memcached=%s metrics=%s:%s",
        settings.invalidator_slot,
        ",".join(TABLES),
        ",".join(f"{host}:{port}" for host, port in settings.memcached_servers),
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
    lag_task: asyncio.Task[None] | None = None
    try:
        while not stopping.is_set():
            reader = LogicalSlotReader(settings.database_url, settings.invalidator_slot, TABLES)
            try:
                await reader.open()
                daemon = InvalidationDaemon(
                    reader, pools, log_every_s=settings.invalidator_log_every_s
                )
                if lag_task is None:
                    lag_task = asyncio.create_task(_watch_slot_lag(settings, daemon))
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
        if lag_task is not None:
            lag_task.cancel()
        for pool in pools:
            await pool.close()
        log.info("invalidator stopped slot=%s", settings.invalidator_slot)
