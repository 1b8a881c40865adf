"""Reading a durable PostgreSQL logical replication slot, asynchronously.

psycopg2 is the one maintained Python driver that speaks the streaming
replication protocol; its replication cursor is non-blocking, so the event
loop watches its socket instead of parking a thread in ``consume_stream``.
The slot remembers what we confirmed: after a crash, PostgreSQL re-sends
every transaction committed after the last confirmed position, which is
what makes the invalidator at-least-once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extras

from gramstack.invalidation.wal2json import PLUGIN_OPTIONS, Begin, Commit, RowChange, decode

log = logging.getLogger("gramstack.invalidation.slot")

FEEDBACK_EVERY_S = 5.0
CONNECT_TIMEOUT_S = 5


@dataclass
class Transaction:
    changes: list[RowChange] = field(default_factory=list)
    lsn: int = 0  # where to confirm once this transaction's work is done
    committed_at: float = 0.0
    # The server's WAL end when the commit was sent: at or past the end of
    # the commit record, so a follower that replayed this far sees it.
    visible_at: int = 0


class LogicalSlotReader:
    def __init__(self, dsn: str, slot: str, tables: Sequence[str]) -> None:
        self._dsn = dsn
        self._slot = slot
        self._tables = tables
        self._conn: Any = None
        self._cursor: Any = None
        self._last_feedback = 0.0
        self._confirmed = 0

    async def open(self) -> None:
        await asyncio.to_thread(self._open_blocking)

    def _open_blocking(self) -> None:
        self._conn = psycopg2.connect(
            self._dsn,
            connection_factory=psycopg2.extras.LogicalReplicationConnection,
            # A hung server must cost a reconnect, not a thread parked forever.
            connect_timeout=CONNECT_TIMEOUT_S,
        )
        self._cursor = self._conn.cursor()
        try:
            self._cursor.create_replication_slot(self._slot, output_plugin="wal2json")
            log.info("created replication slot %s", self._slot)
        except psycopg2.errors.DuplicateObject:
            pass
        options = {**PLUGIN_OPTIONS, "add-tables": ",".join(f"*.{t}" for t in self._tables)}
        self._cursor.start_replication(slot_name=self._slot, decode=True, options=options)

    async def _message(self, timeout: float) -> Any:
        """The next replication message, or None when none came in ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            message = self._cursor.read_message()
            self._keep_alive()
            if message is not None:
                return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            loop = asyncio.get_running_loop()
            readable: asyncio.Future[None] = loop.create_future()

            def wake(future: asyncio.Future[None] = readable) -> None:
                if not future.done():
                    future.set_result(None)

            fd = self._conn.fileno()
            loop.add_reader(fd, wake)
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(readable, min(remaining, FEEDBACK_EVERY_S))
            finally:
                loop.remove_reader(fd)

    def _keep_alive(self) -> None:
        now = time.monotonic()
        if now - self._last_feedback >= FEEDBACK_EVERY_S:
            self._cursor.send_feedback(flush_lsn=self._confirmed)
            self._last_feedback = now

    async def next_transaction(self, timeout: float) -> Transaction | None:
        """The next whole committed transaction touching our tables (possibly
        with no changes of interest), or None if nothing arrived in time."""
        txn = Transaction()
        started = False
        while True:
            message = await self._message(timeout if not started else 30.0)
            if message is None:
                if started:
                    raise TimeoutError("transaction stream stalled mid-transaction")
                return None
            event = decode(message.payload)
            if isinstance(event, Begin):
                started = True
            elif isinstance(event, RowChange):
                txn.changes.append(event)
            elif isinstance(event, Commit):
                txn.lsn = max(event.lsn, int(message.data_start))
                txn.committed_at = event.committed_at
                txn.visible_at = max(txn.lsn, int(message.wal_end))
                return txn

    def confirm(self, lsn: int) -> None:
        """Everything up to ``lsn`` is done; PostgreSQL may drop that WAL."""
        self._confirmed = max(self._confirmed, lsn)
        self._cursor.send_feedback(flush_lsn=self._confirmed)
        self._last_feedback = time.monotonic()

    async def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
