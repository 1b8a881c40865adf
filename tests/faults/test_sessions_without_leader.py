"""Signed-in reads while the PostgreSQL leader is stopped for real: session
lookups come from the cache or the follower, and a token revoked before the
outage is refused by every worker. On memcached and on the in-process cache."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from gramstack.runtime.devcluster.memcached import start_memcached
from tests.faults.client import API
from tests.faults.stack import Stack, stack_env, start_node, stop_node, wait_until_ok
from tests.support.postgres import start_cluster, stop_cluster

pytestmark = pytest.mark.faults

PASSWORD = "pw-12345678"
ROUNDS = 8  # fresh connections each: both workers answer


@pytest.fixture(params=["memcached", "memory"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    cluster = start_cluster(followers=1)
    memcached = start_memcached() if request.param == "memcached" else None
    running = Stack(cluster, tmp_path, stack_env(cluster, memcached), memcached)
    try:
        running.start_server(workers=2)
        yield running
    finally:
        running.close()
        stop_cluster(cluster)


def _signup(client: httpx.Client, username: str) -> dict[str, str]:
    response = client.post(f"{API}/accounts", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _get(base_url: str, path: str, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(base_url=base_url, timeout=30) as client:  # a new connection
        return client.get(path, headers=headers)


def _follower_has_everything(stack: Stack) -> None:
    """Wait until the follower replayed all the leader wrote."""

    async def wait() -> None:
        cluster = stack.cluster
        leader = await asyncpg.connect(cluster.superuser_dsn(cluster.leader))
        follower = await asyncpg.connect(cluster.superuser_dsn(cluster.follower("local")))
        try:
            target = await leader.fetchval("SELECT pg_current_wal_lsn()")
            async with asyncio.timeout(30):
                while await follower.fetchval("SELECT pg_last_wal_replay_lsn() < $1", target):
                    await asyncio.sleep(0.02)
        finally:
            await leader.close()
            await follower.close()

    asyncio.run(wait())


def test_signed_in_reads_go_on_without_the_leader_and_revoked_tokens_stay_revoked(
    stack: Stack,
) -> None:
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        ana = _signup(client, "sess_ana")
        cold = _signup(client, "sess_cold")  # never looked up before the outage
        revoked = _signup(client, "sess_revoked")
        for _ in range(ROUNDS):  # cache ana's and the soon revoked session everywhere
            assert _get(stack.url, f"{API}/me", ana).status_code == 200
            assert _get(stack.url, f"{API}/me", revoked).status_code == 200
        assert client.delete(f"{API}/sessions/current", headers=revoked).status_code == 204
        for _ in range(ROUNDS):  # at once, on every worker
            assert _get(stack.url, f"{API}/me", revoked).status_code == 401
    _follower_has_everything(stack)

    stop_node(stack.cluster, stack.cluster.leader)
    answers: dict[str, list[int]] = {"me": [], "feed": [], "cold": [], "revoked": []}
    try:
        started = time.monotonic()
        for _ in range(ROUNDS):
            answers["me"].append(_get(stack.url, f"{API}/me", ana).status_code)
            answers["feed"].append(_get(stack.url, f"{API}/feed", ana).status_code)
            answers["cold"].append(_get(stack.url, f"{API}/me", cold).status_code)
            answers["revoked"].append(_get(stack.url, f"{API}/me", revoked).status_code)
        elapsed = time.monotonic() - started
    finally:
        start_node(stack.cluster, stack.cluster.leader)
    print(f"\nleader down, {ROUNDS} rounds in {elapsed:.2f}s: {answers}")
    assert answers == {
        "me": [200] * ROUNDS,
        "feed": [200] * ROUNDS,
        "cold": [200] * ROUNDS,
        "revoked": [401] * ROUNDS,
    }
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        wait_until_ok(client, "/readyz")
