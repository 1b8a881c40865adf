"""The placement client on real stores (SQLite primary and regional
files): routing by the location row, placement of unplaced users, and the
re-check that keeps a slow write with a stale route from being lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gramstack.placement.client import AkkioPlacement
from gramstack.placement.policy import PlacementPolicy
from gramstack.placement.shared_cache import SharedLocationCache
from gramstack.records import LocationState
from gramstack.regional.sql import SqlRegionalStore
from gramstack.storage.placement import SqlLocationTable
from gramstack.storage.schema import migrate
from gramstack.storage.sqlite import SqliteDatabase

USER = 1001


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
async def parts(
    tmp_path: Path,
) -> AsyncIterator[tuple[SqlLocationTable, dict[str, SqlRegionalStore]]]:
    primary = SqliteDatabase(tmp_path / "primary.db")
    await primary.open()
    await migrate(primary)
    stores = {}
    for region in ("us", "eu"):
        db = SqliteDatabase(tmp_path / f"{region}.db", readers=1)
        await db.open()
        stores[region] = SqlRegionalStore(region, db)
        await stores[region].create_schema()
    yield SqlLocationTable(primary), stores
    for store in stores.values():
        await store.close()
    await primary.close()


def _client(
    parts: tuple[SqlLocationTable, dict[str, SqlRegionalStore]],
    tmp_path: Path,
    home: str,
    clock: _Clock,
) -> AkkioPlacement[SqlRegionalStore]:
    table, stores = parts
    return AkkioPlacement(
        home=home,
        stores=stores,
        locations=table,
        cache=SharedLocationCache(tmp_path / f"cache-{home}.bin", slots=1024),
        cache_ttl_s=1.0,
        policy=PlacementPolicy(0.7, 3600, 20),
        clock_ms=clock,
    )


async def _timeline(store: SqlRegionalStore) -> list[int]:
    return await store.timeline_page(USER, None, 100)


async def test_an_unplaced_user_goes_to_the_first_region_that_asks(
    parts: tuple[SqlLocationTable, dict[str, SqlRegionalStore]], tmp_path: Path
) -> None:
    clock = _Clock()
    eu, us = _client(parts, tmp_path, "eu", clock), _client(parts, tmp_path, "us", clock)
    assert await eu.region_of(USER) == "eu"
    assert await us.region_of(USER) == "eu"


async def test_writes_and_reads_follow_the_move_state(
    parts: tuple[SqlLocationTable, dict[str, SqlRegionalStore]], tmp_path: Path
) -> None:
    table, stores = parts
    clock = _Clock()
    client = _client(parts, tmp_path, "us", clock)
    await client.place_new_user(USER)
    row = await table.location(USER)
    assert row is not None
    row = await table.transition(row, region="us", target="eu", state="double_write", now=0)
    assert row is not None
    clock.now += 1001  # the cached "placed" entry has expired
    assert [s.region for s in await client.stores_for_write(USER)] == ["eu", "us"]
    assert await client.region_of(USER) == "us"
    row = await table.transition(row, region="us", target="eu", state="read_target", now=0)
    assert row is not None
    clock.now += 1001
    assert await client.region_of(USER) == "eu"
    assert [s.region for s in await client.stores_for_write(USER)] == ["eu", "us"]
    assert await table.transition(row, region="x", target=None, state="placed", now=0) is not None
    assert await table.transition(row, region="x", target=None, state="placed", now=0) is None
    assert stores  # both stores stayed open


async def test_a_slow_write_with_a_stale_route_is_repeated_where_the_user_now_is(
    parts: tuple[SqlLocationTable, dict[str, SqlRegionalStore]], tmp_path: Path
) -> None:
    table, stores = parts
    clock = _Clock()
    client = _client(parts, tmp_path, "us", clock)
    await client.place_new_user(USER)  # cached as "placed in us" for 1 s

    calls: list[str] = []
    steps: list[tuple[LocationState, str, str]] = [
        ("double_write", "us", "eu"),
        ("read_target", "us", "eu"),
        ("cleanup", "eu", "us"),
    ]

    async def slow_write(store: SqlRegionalStore, user_ids: list[int]) -> None:
        calls.append(store.region)
        if len(calls) == 1:
            # While this write is on its way, a migrator elsewhere moves the
            # user all the way to eu (the us copy is about to be deleted).
            row = await table.location(USER)
            for state, region, target in steps:
                assert row is not None
                row = await table.transition(row, region=region, target=target, state=state, now=0)
            clock.now += 2500  # past the migrator's wait of two cache lifetimes
        await store.add_to_timelines(user_ids, 77, 5)

    await client.write_many([USER], slow_write)
    assert calls == ["us", "eu"]
    assert await _timeline(stores["eu"]) == [77]


async def test_the_policy_leaves_a_user_moved_within_the_cooldown_where_it_is(
    parts: tuple[SqlLocationTable, dict[str, SqlRegionalStore]], tmp_path: Path
) -> None:
    table, stores = parts
    clock = _Clock()
    client = AkkioPlacement(
        home="us",
        stores=stores,
        locations=table,
        cache=SharedLocationCache(tmp_path / "cache-cooldown.bin", slots=1024),
        cache_ttl_s=1.0,
        policy=PlacementPolicy(0.7, 3600, 20, cooldown_s=600),
        clock_ms=clock,
    )
    await client.place_new_user(USER)
    await table.add_reads({(USER, "eu"): 40}, clock.now, lambda score, at: score)
    assert await client.evaluate([USER]) == [(USER, "eu")]  # never moved: no cooldown
    # Moved to eu (the row as a finished move leaves it), and read from us since.
    row = await table.location(USER)
    assert row is not None
    row = await table.transition(row, region="eu", target=None, state="placed", now=clock.now)
    assert row is not None and row.epoch > 1
    await table.add_reads({(USER, "us"): 400}, clock.now, lambda score, at: 0.0)
    clock.now += 599_000
    assert await client.evaluate([USER]) == []
    clock.now += 1_000
    assert await client.evaluate([USER]) == [(USER, "us")]
