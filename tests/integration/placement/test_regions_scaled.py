"""Moves on the scaled topology: ``dev-cluster up --regions us,eu`` (global
leader and followers, one PostgreSQL cluster per region, memcached per
region), with a server of each region writing and reading while users move
from us to eu; both servers' job workers carry the moves out."""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gramstack.domain.backends import Backends
from gramstack.domain.placement import start_move
from gramstack.records import ActivityRecord, RegionalPartition
from gramstack.runtime import devcluster
from gramstack.runtime.config import load_settings
from gramstack.runtime.devcluster import ClusterState
from gramstack.runtime.wiring import open_backends

USERS = 10
POSTS = 200


@pytest.fixture(scope="module")
def regions_cluster() -> Iterator[ClusterState]:
    # Not tmp_path: the servers run as the postgres user (see devcluster).
    directory = Path(tempfile.mkdtemp(prefix="gramstack-test-placement-"))
    try:
        yield devcluster.up(directory, regions=["us", "eu"])
    finally:
        if (directory / "cluster.json").exists():
            devcluster.down(directory)
        shutil.rmtree(directory, ignore_errors=True)


async def _job_errors(b: Backends) -> list[object]:
    async with b.store.queue._db.read(fresh=True) as conn:  # type: ignore[attr-defined]
        return list(await conn.fetch("SELECT kind, payload, attempts, last_error FROM jobs"))


@contextlib.asynccontextmanager
async def _server(cluster: ClusterState, region: str, data_dir: Path) -> AsyncIterator[Backends]:
    environ = {
        **cluster.env_for(region),
        "GRAMSTACK_DATA_DIR": str(data_dir),
        "GRAMSTACK_PLACEMENT_CACHE_TTL_S": "0.2",
        "GRAMSTACK_JOB_POLL_INTERVAL_S": "0.02",
        "GRAMSTACK_WAN_DELAY_MS": "2",
        # The policy stays out of it: these reads alone would move users back.
        "GRAMSTACK_PLACEMENT_FLUSH_S": "3600",
    }
    async with open_backends(load_settings(environ)) as running:
        yield running.backends


async def test_moves_between_regional_clusters_lose_nothing(
    regions_cluster: ClusterState, tmp_path: Path
) -> None:
    async with (
        _server(regions_cluster, "us", tmp_path / "us") as us,
        _server(regions_cluster, "eu", tmp_path / "eu") as eu,
    ):
        users = []
        for n in range(USERS):
            user = await us.store.accounts.create_user(us.next_id(), f"s{n}", "x", "", 1)
            assert user is not None
            await us.placement.place_new_user(user.id)
            users.append(user.id)
        media = [us.next_id() for _ in range(POSTS)]
        inbox = {u: [ActivityRecord(us.next_id(), "like", 1, None, 1)] * 1 for u in users}
        failures: list[BaseException] = []
        writing = True

        async def fan_out(server: Backends, chunk: list[int]) -> None:
            for media_id in chunk:
                await server.write_regional_many(
                    users, lambda r, ids, m=media_id: r.add_to_timelines(ids, m, 1)
                )

        async def read(server: Backends) -> None:
            rng = random.Random(2)
            while writing:
                user = rng.choice(users)
                try:
                    await (await server.region_for(user)).timeline_page(user, None, 20)
                except Exception as exc:
                    failures.append(exc)
                await asyncio.sleep(0.005)

        seen: set[str] = set()

        async def watch() -> None:
            while writing:
                for user in users:
                    row = await us.store.placement.location(user)
                    seen.add("" if row is None else row.state)
                await asyncio.sleep(0.02)

        readers = [asyncio.create_task(read(server)) for server in (us, eu)]
        readers.append(asyncio.create_task(watch()))
        for user in users:
            await start_move(us, user, "eu")
        await asyncio.gather(
            fan_out(us, media[0::2]),
            fan_out(eu, media[1::2]),
            *(us.write_regional(u, lambda r, u=u: r.add_activity(u, inbox[u][0])) for u in users),
        )
        for _ in range(1500):
            rows = [await us.store.placement.location(u) for u in users]
            if all(r is not None and (r.state, r.region) == ("placed", "eu") for r in rows):
                break
            await asyncio.sleep(0.05)
        writing = False
        await asyncio.gather(*readers)

        assert failures == []
        assert {"double_write", "read_target", "cleanup"} <= seen, seen
        assert all(r is not None and (r.state, r.region) == ("placed", "eu") for r in rows), (
            rows,
            await _job_errors(us),
        )
        for user in users:
            moved = await eu.regions["eu"].export_partition(user)
            assert sorted(m for m, _ in moved.timeline) == sorted(media)
            assert [row[0] for row in moved.inbox] == [inbox[user][0].id]
            assert await us.regions["us"].export_partition(user) == RegionalPartition([], [])
