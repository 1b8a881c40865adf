"""PostgreSQL through an asyncpg pool: one node, leader or follower.

``FollowerRouter`` (storage/router.py) puts several of these behind the one
``Database`` port; on its own this adapter is a complete primary store with
every read and write on the same server.

Every call is bounded: the server cancels a statement after
``statement_timeout_s`` and the client gives up after ``command_timeout_s``
(connect, pool wait, statement, reset). A connection whose call was
cancelled or timed out is terminated, never returned to the pool: asking a
hung server to cancel, or resetting the connection, would wait on the very
server that does not answer. The caller then sees ``BackendUnavailable``
(or its own cancellation).

A slow statement and a hung server look alike to the statement's caller (a
row lock wait is slow and healthy), so hangs are told apart by a heartbeat:
with ``unresponsive_after_s`` set, a trivial query on a connection of its
own runs twice a second, and when one gets no answer within that time the
node is unresponsive: the calls in flight are cut off and new ones fail at
once with ``BackendUnavailable``, until a heartbeat is answered again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from gramstack.storage.ports import BackendUnavailable, Dialect, Row

# Positions as plain byte offsets: comparable ints, no pg_lsn codec needed.
INSERT_LSN_SQL = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint"
FLUSH_LSN_SQL = "SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::bigint"
REPLAY_LSN_SQL = "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint"
CONNECT_TIMEOUT_S = 2.0
HEARTBEAT_EVERY_S = 0.5

log = logging.getLogger("gramstack.storage.postgres")

# Errors of a call after which nothing is known about its connection (the
# server may still be running the statement, or be gone): it is terminated.
_LOST: tuple[type[BaseException], ...] = (
    TimeoutError,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, statement_timeout
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
)

# Heartbeat failures that mean the node cannot serve: no answer, no
# connection, or shutting down / starting up.
_UNREACHABLE: tuple[type[BaseException], ...] = (
    TimeoutError,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.InterfaceError,
)


class PostgresConnection:
    """One pooled connection; a call that fails with the node rather than
    with the statement raises ``BackendUnavailable`` and marks the
    connection ``lost``, so it is terminated instead of pooled."""

    def __init__(self, conn: Any, node: str) -> None:
        self._conn = conn
        self._node = node
        self.lost = False

    async def _call(self, call: Awaitable[Any]) -> Any:
        try:
            return await call
        except asyncio.CancelledError:
            self.lost = True  # the statement may still run: never reuse
            raise
        except Exception as exc:
            if isinstance(exc, _LOST) or (
                isinstance(exc, asyncpg.InterfaceError) and self._conn.is_closed()
            ):
                self.lost = True
                raise BackendUnavailable(self._node, f"{type(exc).__name__}: {exc}") from exc
            raise

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return [dict(row) for row in await self._call(self._conn.fetch(sql, *args))]

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        row = await self._call(self._conn.fetchrow(sql, *args))
        return None if row is None else dict(row)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._call(self._conn.fetchval(sql, *args))

    async def execute(self, sql: str, *args: Any) -> None:
        await self._call(self._conn.execute(sql, *args))

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        await self._call(self._conn.executemany(sql, args))

    async def begin(self) -> Any:
        transaction = self._conn.transaction()
        await self._call(transaction.start())
        return transaction

    async def end(self, transaction: Any, *, commit: bool) -> None:
        await self._call(transaction.commit() if commit else transaction.rollback())


class PostgresDatabase:
    dialect: Dialect = "postgres"

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        name: str = "database",
        command_timeout_s: float | None = None,
        statement_timeout_s: float | None = None,
        unresponsive_after_s: float | None = None,
    ) -> None:
        """Without timeouts (migrations, tools) calls may run as long as they
        need; the server passes them from the settings."""
        self.dsn = dsn
        self.name = name
        self._min_size = min_size
        self._max_size = max_size
        self._command_timeout_s = command_timeout_s
        self._statement_timeout_s = statement_timeout_s
        self._unresponsive_after_s = unresponsive_after_s
        self._pool: Any = None
        self._in_use: set[Any] = set()
        self.unresponsive: str | None = None  # why, while the heartbeat goes unanswered
        self._heartbeat: asyncio.Task[None] | None = None

    def _server_settings(self) -> dict[str, str]:
        settings = {"application_name": "gramstack"}
        if self._statement_timeout_s is not None:
            settings["statement_timeout"] = str(int(self._statement_timeout_s * 1000))
            # A terminated connection's statement stops within a second,
            # not when it would have finished.
            settings["client_connection_check_interval"] = "1000"
        return settings

    async def open(self) -> None:
        # A loaded server can take seconds to accept a connection; a hung one
        # is the heartbeat's to find, so connecting may take the full bound.
        connect_timeout = self._command_timeout_s or CONNECT_TIMEOUT_S
        self._pool = await asyncpg.create_pool(
            self.dsn,
            min_size=self._min_size,
            max_size=self._max_size,
            timeout=connect_timeout,
            command_timeout=self._command_timeout_s,
            server_settings=self._server_settings(),
        )
        if self._unresponsive_after_s is not None and self._heartbeat is None:
            self._heartbeat = asyncio.create_task(self._beat_forever(self._unresponsive_after_s))

    async def _beat_forever(self, limit_s: float) -> None:
        conn: Any = None
        try:
            while True:
                await asyncio.sleep(min(HEARTBEAT_EVERY_S, limit_s / 2))
                try:
                    if conn is None or conn.is_closed():
                        conn = await asyncpg.connect(
                            self.dsn, timeout=limit_s, server_settings=self._server_settings()
                        )
                    await conn.fetchval("SELECT 1", timeout=limit_s)
                except Exception as exc:
                    if conn is not None:
                        conn.terminate()
                        conn = None
                    if not isinstance(exc, _UNREACHABLE):
                        # e.g. too many connections: the pool's own may still serve.
                        log.warning("%s heartbeat failed: %r", self.name, exc)
                        continue
                    self._mark_unresponsive(f"no answer in {limit_s:g}s ({type(exc).__name__})")
                    await self._expire_idle()
                else:
                    if self.unresponsive is not None:
                        log.warning("%s answers again", self.name)
                        self.unresponsive = None
        finally:
            if conn is not None:
                conn.terminate()

    async def _expire_idle(self) -> None:
        if self._pool is not None:
            with contextlib.suppress(Exception):
                await self._pool.expire_connections()

    def _mark_unresponsive(self, why: str) -> None:
        if self.unresponsive is None:
            log.warning("%s is unresponsive: %s; failing its calls", self.name, why)
        self.unresponsive = why
        # Calls waiting on it now would wait for nothing: cut them off.
        for raw in list(self._in_use):
            with contextlib.suppress(asyncpg.InterfaceError):
                raw.terminate()

    async def ensure_open(self) -> None:
        """Open the pool unless it is; a follower that was down at start is
        opened by the router's first successful poll."""
        if self._pool is None:
            await self.open()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[PostgresConnection]:
        if self._pool is None:
            raise RuntimeError("database is not open")
        if self.unresponsive is not None:
            raise BackendUnavailable(self.name, self.unresponsive)
        pool = self._pool
        try:
            raw = await pool.acquire(timeout=self._command_timeout_s)
        except _LOST as exc:
            raise BackendUnavailable(self.name, f"{type(exc).__name__}: {exc}") from exc
        conn = PostgresConnection(raw, self.name)
        self._in_use.add(raw)
        try:
            yield conn
        finally:
            self._in_use.discard(raw)
            # Lost: a call failed with the node, or was cancelled mid-flight.
            # (A connection the heartbeat cut off went back to the pool by
            # itself; its proxy then refuses both calls.)
            if conn.lost:
                with contextlib.suppress(asyncpg.InterfaceError):
                    raw.terminate()  # release then only hands the slot back
                # Its idle siblings most likely went with the same server
                # (a restart): replace them, or each would fail one call.
                await self._expire_idle()
            # A reset that does not answer makes the pool terminate the
            # connection; the caller's work is done, so no reason to fail it.
            with contextlib.suppress(*_LOST, asyncpg.InterfaceError):
                await pool.release(raw, timeout=self._command_timeout_s)

    @asynccontextmanager
    async def read(
        self, *, for_user: int | None = None, fresh: bool = False
    ) -> AsyncIterator[PostgresConnection]:
        # No transaction: each statement sees the latest commit on this node.
        async with self._connection() as conn:
            yield conn

    @asynccontextmanager
    async def write(
        self, *, for_user: int | None = None, lsn_out: list[int] | None = None
    ) -> AsyncIterator[PostgresConnection]:
        """A transaction; with ``lsn_out``, the WAL insert position after the
        commit is appended to it (what a follower must replay to see it)."""
        async with self._connection() as conn:
            transaction = await conn.begin()
            try:
                yield conn
            except BaseException as exc:
                # A lost or cancelled connection is terminated on the way out
                # and the server rolls back; asking it would only wait.
                if isinstance(exc, asyncio.CancelledError):
                    conn.lost = True
                if not conn.lost:
                    await conn.end(transaction, commit=False)
                raise
            await conn.end(transaction, commit=True)
            if lsn_out is not None:
                lsn_out.append(int(await conn.fetchval(INSERT_LSN_SQL)))

    async def replay_lsn(self) -> int | None:
        """How far this node (a follower) has replayed the leader's WAL."""
        async with self._connection() as conn:
            value = await conn.fetchval(REPLAY_LSN_SQL)
        return None if value is None else int(value)

    async def flush_lsn(self) -> int:
        """The end of the WAL on disk: what a follower can have received.
        (The insert position can sit past a page or segment header that no
        follower ever reports as replayed, so lag is measured against this.)"""
        async with self._connection() as conn:
            return int(await conn.fetchval(FLUSH_LSN_SQL))

    async def system_identifier(self) -> str:
        async with self._connection() as conn:
            value = await conn.fetchval("SELECT system_identifier FROM pg_control_system()")
        return str(value)

    async def ping(self) -> None:
        async with self._connection() as conn:
            await conn.fetchval("SELECT 1")

    def replica_states(self) -> Mapping[str, str]:
        return {}

    async def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), 5)
            except TimeoutError:
                pool.terminate()
