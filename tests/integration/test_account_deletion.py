"""Account deletion's job on both primary stores: retried, cut short and
run twice at once, it leaves nothing the account made and every counter
equal to its rows (``bench/account_deletion.py`` seeds the graph)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest

from bench.account_deletion import (
    OTHERS,
    PASSWORD,
    REGION,
    Rig,
    backends,
    counter_mismatches,
    row_counts,
    seed,
)
from gramstack.domain import account_deletion, accounts, jobs
from gramstack.domain.errors import Unauthorized
from gramstack.domain.fanout import run_job
from gramstack.records import ActivityRecord
from gramstack.runtime.devcluster import ClusterState

POSTS = 30
FOLLOWERS = 120


async def _new_database(cluster: ClusterState) -> str:
    name = f"t_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(cluster.superuser_dsn(cluster.leader))
    try:
        await admin.execute(f"CREATE DATABASE {name} OWNER gramstack")
    finally:
        await admin.close()
    return cluster.database_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgres"])
def dsn(request: pytest.FixtureRequest) -> str | None:
    """None for SQLite; a fresh database on the session's PostgreSQL leader."""
    if request.param == "sqlite":
        return None
    # Sync: the cluster fixture starts PostgreSQL with its own event loop.
    return asyncio.run(_new_database(request.getfixturevalue("pg_cluster")))


@pytest.fixture
async def rig(dsn: str | None, tmp_path: Path) -> AsyncIterator[Rig]:
    async with backends(tmp_path, dsn) as opened:
        yield opened


def _nothing_left(counts: dict[str, int]) -> None:
    assert counts == dict.fromkeys(counts, 0), counts


async def test_every_batch_done_twice_decrements_once(rig: Rig) -> None:
    b = rig.b
    victim = await seed(rig, posts=POSTS, followers=FOLLOWERS)
    before = await row_counts(rig, victim)
    assert before["follows_in"] > 0 and before["likes_by"] > 0 and before["media"] == POSTS
    await accounts.delete_account(b, victim, PASSWORD)
    # A worker that dies after its batch committed but before the job was
    # marked done: the next one repeats the same batch, outside cleanup and all.
    for step in account_deletion.STEPS:
        batch = await step(b, victim)
        assert batch
        assert await step(b, victim, batch) == batch
    assert await counter_mismatches(rig) == []
    # Every step run twice over, then the whole job twice more.
    for step in account_deletion.STEPS:
        while batch := await step(b, victim):
            await step(b, victim, batch)
    assert await counter_mismatches(rig) == []
    assert await account_deletion.run(b, victim)
    assert await account_deletion.run(b, victim)
    _nothing_left(await row_counts(rig, victim))
    assert await counter_mismatches(rig) == []


async def test_a_job_cut_into_runs_and_raced_by_a_second_worker(rig: Rig) -> None:
    b = rig.b
    victim = await seed(rig, posts=POSTS, followers=FOLLOWERS)
    await accounts.delete_account(b, victim, PASSWORD)
    # One batch per run (each run re-enqueues the job), two workers at once.
    for _ in range(100):
        finished = await asyncio.gather(
            account_deletion.run(b, victim, batches=1), account_deletion.run(b, victim, batches=1)
        )
        if all(finished):
            break
    else:
        raise AssertionError("the deletion job never finished")
    _nothing_left(await row_counts(rig, victim))
    assert await counter_mismatches(rig) == []
    # Each run left a continuation job; they find nothing and finish.
    claimed = 0
    while (job := await b.store.queue.claim_job(b.clock_ms() + 10**9, 1000)) is not None:
        assert job.kind == "account_deletion"
        assert await account_deletion.run(b, victim)
        await b.store.queue.complete_job(job.id)
        claimed += 1
    assert claimed > 0


async def test_followers_in_every_region_lose_the_authors_posts(
    dsn: str | None, tmp_path: Path
) -> None:
    """The follower step removes the account's posts from each follower's
    timeline in the region placement holds it in, both copies of one being
    moved, and nothing by other authors."""
    async with backends(tmp_path, dsn, other_regions=["eu"]) as rig:
        b, home, eu = rig.b, rig.region, rig.b.regions["eu"]
        victim = await seed(rig, posts=POSTS, followers=FOLLOWERS)
        fans = [OTHERS + 50 + i for i in range(FOLLOWERS)]  # seed's followers
        in_eu, moving = fans[::2], fans[1]
        table = b.store.placement
        for fan in in_eu:  # the seed placed every account at home
            row = await table.location(fan)
            assert row is not None
            assert await table.transition(
                row, region="eu", target=None, state="placed", now=b.clock_ms()
            )
        row = await table.location(moving)
        assert row is not None
        assert await table.transition(
            row, region=REGION, target="eu", state="double_write", now=b.clock_ms()
        )
        victim_posts = await home.timeline_page(fans[0], None, 100)
        assert len(victim_posts) == 5
        for fan in in_eu:  # the seed wrote every timeline at home
            await home.delete_partition(fan)
        for media_id in victim_posts:
            await eu.add_to_timelines([*in_eu, moving], media_id, victim)
        other_post = OTHERS * 10 + 1  # seed's post by another user
        holders = {fan: [eu] if fan in in_eu else [home] for fan in fans}
        holders[moving] = [home, eu]
        for fan, stores in holders.items():
            for store in stores:
                await store.add_to_timelines([fan], other_post, OTHERS + 1)
        await accounts.delete_account(b, victim, PASSWORD)
        steps = 0
        while await account_deletion.follower_step(b, victim):
            steps += 1
        assert steps == 1  # FOLLOWERS fit one bounded batch
        for fan, stores in holders.items():
            for store in stores:
                assert await store.timeline_page(fan, None, 100) == [other_post]
        assert await counter_mismatches(rig) == []


async def test_the_request_needs_the_password_and_frees_the_name_at_once(rig: Rig) -> None:
    b = rig.b
    victim = await seed(rig, posts=2, followers=3)
    with pytest.raises(Unauthorized):
        await accounts.delete_account(b, victim, "not the password")
    assert await b.store.accounts.user_id_by_username("victim") == victim
    await accounts.delete_account(b, victim, PASSWORD)
    assert await b.store.accounts.user_id_by_username("victim") is None
    assert await b.store.accounts.users([victim]) == {}
    assert await b.store.people.search_users("vic", 0, 10) == []
    # Twice is refused: the account is already gone for the request path.
    with pytest.raises(Unauthorized):
        await accounts.delete_account(b, victim, PASSWORD)


async def _work_off_the_queue(rig: Rig) -> list[str]:
    """Run every due job as a worker would; the kinds run, in order."""
    b, kinds = rig.b, []
    while (job := await b.store.queue.claim_job(b.clock_ms() + 10**9, 1000)) is not None:
        kinds.append(job.kind)
        await run_job(b, job)
        await b.store.queue.complete_job(job.id)
    return kinds


async def test_an_inbox_add_running_after_the_sweep_is_taken_away(rig: Rig) -> None:
    b = rig.b
    victim = await seed(rig, posts=2, followers=3)
    mentioned = victim + 10_000_000  # bench.account_deletion.OTHERS: the first other user
    await accounts.delete_account(b, victim, PASSWORD)
    assert await _work_off_the_queue(rig) == ["account_deletion"]
    assert (await row_counts(rig, victim))["activity_it_caused"] == 0
    # A mention's add job, retried until after the account's job finished.
    late = ActivityRecord(b.next_id(), "mention", victim, None, b.clock_ms())
    await b.store.queue.enqueue([jobs.inbox_add(b.next_id(), mentioned, late)], 0)
    assert await _work_off_the_queue(rig) == ["inbox_add"]
    assert not await rig.region.has_activity(mentioned, late.id)
    assert await rig.region.count_activity_after(mentioned, late.id - 1, 10) == 0
