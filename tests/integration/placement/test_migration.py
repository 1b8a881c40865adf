"""Moving users between regions while fan-out writes and feed reads hit
them (Akkio's protocol, ``placement.migrator``), on real regional stores:
one SQLite file per region, wired as a server wires them, with the
server's own job worker carrying the moves out.

Afterwards every timeline and inbox entry must be in the destination
exactly once, none left in the source, and no read may have failed.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gramstack.domain.backends import Backends
from gramstack.domain.placement import start_move
from gramstack.records import ActivityRecord, RegionalPartition
from gramstack.regional.ports import RegionalStore
from gramstack.runtime.config import Settings
from gramstack.runtime.wiring import open_backends

USERS = 20
POSTS = 500  # to all USERS: 10,000 timeline entries
INBOX_PER_USER = 50  # another 1,000 inbox entries


def _settings(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        regions=("us", "eu"),
        region="us",
        placement_cache_ttl_s=0.1,
        placement_flush_s=3600,
        job_poll_interval_s=0.01,
        argon2_time_cost=1,
        argon2_memory_kib=8,
    )


@pytest.fixture
async def backends(tmp_path: Path) -> AsyncIterator[Backends]:
    async with open_backends(_settings(tmp_path)) as running:
        yield running.backends


async def _users(b: Backends) -> list[int]:
    users = []
    for n in range(USERS):
        user = await b.store.accounts.create_user(b.next_id(), f"m{n}", "x", "", b.clock_ms())
        assert user is not None
        await b.placement.place_new_user(user.id)
        users.append(user.id)
    return users


async def _partition(store: RegionalStore, user_id: int) -> RegionalPartition:
    return await store.export_partition(user_id)


async def _wait_placed(b: Backends, users: list[int], region: str) -> None:
    for _ in range(3000):
        rows = [await b.store.placement.location(u) for u in users]
        if all(r is not None and r.state == "placed" and r.region == region for r in rows):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"moves did not finish: {rows}")


async def test_no_entry_is_lost_or_doubled_by_moves_under_load(backends: Backends) -> None:
    b = backends
    users = await _users(b)
    media_ids = [b.next_id() for _ in range(POSTS)]
    inbox = {
        u: [ActivityRecord(b.next_id(), "like", 1, None, 1) for _ in range(INBOX_PER_USER)]
        for u in users
    }
    failures: list[BaseException] = []
    reads = 0
    writing = True

    async def fan_out(posts: list[int]) -> None:
        for media_id in posts:
            await b.write_regional_many(
                users, lambda r, ids, m=media_id: r.add_to_timelines(ids, m, 1)
            )

    async def add_inbox(user: int) -> None:
        for activity in inbox[user]:
            await b.write_regional(user, lambda r, a=activity: r.add_activity(user, a))
            await asyncio.sleep(0)

    async def read_feeds() -> None:
        nonlocal reads
        rng = random.Random(1)
        while writing:
            user = rng.choice(users)
            try:
                await (await b.region_for(user)).timeline_page(user, None, 20)
                await (await b.region_for(user)).activity_page(user, None, 20)
                reads += 2
            except Exception as exc:  # a failed read is the test's failure
                failures.append(exc)
            await asyncio.sleep(0)

    async def move_all(region: str) -> None:
        for user in users:
            await start_move(b, user, region)
            await asyncio.sleep(0.02)

    states_under_load: set[str] = set()

    async def watch_states() -> None:
        while writing:
            for user in users:
                row = await b.store.placement.location(user)
                assert row is not None
                states_under_load.add(row.state)
            await asyncio.sleep(0.01)

    readers = [asyncio.create_task(read_feeds()) for _ in range(2)]
    watcher = asyncio.create_task(watch_states())
    chunks = [media_ids[i::4] for i in range(4)]
    await asyncio.gather(
        *(fan_out(chunk) for chunk in chunks),
        *(add_inbox(u) for u in users),
        move_all("eu"),
    )
    await _wait_placed(b, users, "eu")
    writing = False
    await asyncio.gather(*readers, watcher)

    # The moves really ran under the load: writes met every step.
    assert {"double_write", "read_target", "cleanup"} <= states_under_load, states_under_load

    assert failures == []
    assert reads > 0
    us, eu = b.regions["us"], b.regions["eu"]
    for user in users:
        moved = await _partition(eu, user)
        assert sorted(m for m, _ in moved.timeline) == sorted(media_ids)
        assert sorted(row[0] for row in moved.inbox) == sorted(a.id for a in inbox[user])
        assert await _partition(us, user) == RegionalPartition([], [])


async def test_a_move_resumes_from_the_location_row(backends: Backends, tmp_path: Path) -> None:
    """A worker that dies between steps leaves the row in its state; the
    next run (any process) carries on from there."""
    b = backends
    user = (await _users(b))[0]
    await b.write_regional(user, lambda r: r.add_to_timelines([user], 11, 1))
    assert await b.placement.advance_move(user, "eu") is not None
    row = await b.store.placement.location(user)
    assert row is not None and (row.state, row.region, row.target) == ("double_write", "us", "eu")
    # A write now lands in both regions, the destination first.
    await b.write_regional(user, lambda r: r.add_to_timelines([user], 12, 1))
    assert {m for m, _ in (await _partition(b.regions["eu"], user)).timeline} == {12}

    # A second server (own process state, same stores) finishes the move.
    async with open_backends(_settings(tmp_path)) as other:
        while (again := await other.backends.placement.advance_move(user, "eu")) is not None:
            await asyncio.sleep(max(0, again - b.clock_ms()) / 1000)
    row = await b.store.placement.location(user)
    assert row is not None and (row.state, row.region, row.target) == ("placed", "eu", None)
    assert {m for m, _ in (await _partition(b.regions["eu"], user)).timeline} == {11, 12}
    assert (await _partition(b.regions["us"], user)).timeline == []
    assert row.epoch == 5  # placed, double_write, read_target, cleanup, placed


async def test_reads_count_and_the_policy_moves_the_user(backends: Backends) -> None:
    b = backends
    user = (await _users(b))[0]
    await b.store.placement.add_reads(
        {(user, "eu"): 40, (user, "us"): 2}, b.clock_ms(), lambda score, at: score
    )
    for _ in range(3):
        await b.region_for(user)  # counted for "us", this server's region
    moves = await b.placement.flush_reads()
    assert moves == [(user, "eu")]
    scores = await b.placement.read_scores(user)
    assert round(scores["us"]) == 5 and round(scores["eu"]) == 40
