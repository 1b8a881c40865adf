"""Every call on the PostgreSQL adapter is bounded, on a real server: the
server's statement_timeout, the client's command_timeout, and a cancelled
call's connection terminated rather than pooled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest

from gramstack.runtime.devcluster import ClusterState
from gramstack.storage.ports import BackendUnavailable
from gramstack.storage.postgres import PostgresDatabase
from tests.support.server import free_port


@pytest.fixture
async def bounded(pg_cluster: ClusterState) -> AsyncIterator[PostgresDatabase]:
    database = PostgresDatabase(
        pg_cluster.database_url,
        min_size=1,
        max_size=2,
        name="leader",
        command_timeout_s=1.0,
        statement_timeout_s=0.3,
    )
    await database.open()
    yield database
    await database.close()


async def _backend_pids(cluster: ClusterState) -> set[int]:
    admin = await asyncpg.connect(cluster.superuser_dsn(cluster.leader))
    try:
        rows = await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'gramstack'"
        )
        return {r["pid"] for r in rows}
    finally:
        await admin.close()


async def test_the_server_cancels_a_statement_past_statement_timeout(
    bounded: PostgresDatabase,
) -> None:
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as caught:
        async with bounded.read() as conn:
            await conn.fetchval("SELECT pg_sleep(5)")
    assert time.monotonic() - started < 1.0
    assert caught.value.backend == "leader"
    async with bounded.read() as conn:  # the pool serves again
        assert await conn.fetchval("SELECT 1") == 1


async def test_a_cancelled_call_terminates_its_connection(
    bounded: PostgresDatabase, pg_cluster: ClusterState
) -> None:
    async with bounded.read() as conn:
        before = await conn.fetchval("SELECT pg_backend_pid()")
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            async with bounded.write() as conn:
                # Statements on the server pass the timeout: the client
                # gives up first and must not wait to hand the connection back.
                await conn.execute("SET LOCAL statement_timeout = 0")
                await conn.fetchval("SELECT pg_sleep(5)")
    assert time.monotonic() - started < 0.5
    # Terminated, not pooled: the server sees that session go (it checks
    # for a gone client every second while a statement runs).
    for _ in range(60):
        if before not in await _backend_pids(pg_cluster):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the cancelled connection is still open")
    async with bounded.read() as conn:
        assert await conn.fetchval("SELECT pg_backend_pid()") != before


async def test_a_hung_server_costs_at_most_the_command_timeout(
    bounded: PostgresDatabase,
) -> None:
    # A statement the server itself never cancels stands in for a hung
    # server: only the client's bound can end it.
    started = time.monotonic()
    with pytest.raises(BackendUnavailable):
        async with bounded.write() as conn:
            await conn.execute("SET LOCAL statement_timeout = 0")
            await conn.fetchval("SELECT pg_sleep(5)")
    assert time.monotonic() - started < 1.6
    async with bounded.write() as conn:
        assert await conn.fetchval("SELECT 2") == 2


async def test_an_unreachable_server_is_unavailable_not_an_error() -> None:
    database = PostgresDatabase(
        f"postgresql://gramstack@127.0.0.1:{free_port()}/gramstack",
        min_size=0,
        command_timeout_s=1.0,
        statement_timeout_s=0.5,
    )
    await database.open()
    try:
        started = time.monotonic()
        with pytest.raises(BackendUnavailable):
            async with database.write() as conn:
                await conn.fetchval("SELECT 1")
        assert time.monotonic() - started < 1.5
    finally:
        await database.close()


async def test_a_slow_statement_on_a_healthy_server_is_not_a_hang(
    pg_cluster: ClusterState,
) -> None:
    database = PostgresDatabase(
        pg_cluster.database_url,
        min_size=1,
        command_timeout_s=3.0,
        statement_timeout_s=2.5,
        unresponsive_after_s=0.5,
    )
    await database.open()
    try:
        # Four heartbeats pass while it runs; the server answers them all.
        async with database.read() as conn:
            assert await conn.fetchval("SELECT pg_sleep(1.5)::text") == ""
        assert database.unresponsive is None
    finally:
        await database.close()
