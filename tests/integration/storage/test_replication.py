"""Read-your-writes and follower failure against real streaming replication.

A cluster of its own (leader, followers ``local`` and ``eu``) so pausing
and killing followers disturbs nothing else. Servers run with the cache off
(every read reaches the store) and with ``X-Gramstack-Read-Node`` on, so a
test can see which node answered.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from gramstack.runtime.devcluster import ClusterState, postgres
from tests.api.conftest import API, Account, api_client, eventually, signup_user
from tests.support.postgres import start_cluster, stop_cluster
from tests.support.server import ServerProcess, start_server

NODE = "x-gramstack-read-node"


def _sql(dsn: str, sql: str) -> Any:
    async def run() -> Any:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    return asyncio.run(run())


def _pause(cluster: ClusterState, region: str) -> None:
    dsn = cluster.superuser_dsn(cluster.follower(region))
    _sql(dsn, "SELECT pg_wal_replay_pause()")
    eventually(lambda: _sql(dsn, "SELECT pg_get_wal_replay_pause_state()") == "paused")


def _resume(cluster: ClusterState, region: str) -> None:
    _sql(cluster.superuser_dsn(cluster.follower(region)), "SELECT pg_wal_replay_resume()")


@pytest.fixture(scope="module")
def cluster() -> Iterator[ClusterState]:
    state = start_cluster(followers=2)
    yield state
    stop_cluster(state)


def _server(
    cluster: ClusterState, tmp_path_factory: pytest.TempPathFactory, **settings: str
) -> ServerProcess:
    env = {
        **cluster.env,
        "GRAMSTACK_EXPOSE_BACKEND_HEADER": "1",
        "GRAMSTACK_CACHE_BACKEND": "none",
        **{f"GRAMSTACK_{k.upper()}": v for k, v in settings.items()},
    }
    return start_server(Path(tmp_path_factory.mktemp("pg-server")), env=env, workers=2)


@pytest.fixture(scope="module")
def server(
    cluster: ClusterState, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    # A wide lag bound: a paused follower must stay in use for these tests.
    proc = _server(cluster, tmp_path_factory, max_follower_lag_s="60")
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with api_client(server.base_url) as client:
        yield client


def _get(client: httpx.Client, path: str, who: Account | None = None) -> httpx.Response:
    response = client.get(path, headers=who.headers if who else {})
    assert response.status_code == 200, response.text
    return response


def _settled(client: httpx.Client, who: Account, region: str = "local") -> None:
    """Wait until ``who``'s own reads are back on the follower (it replayed
    their last write and the router has polled it)."""
    eventually(lambda: _get(client, f"{API}/me", who).headers[NODE] == f"follower:{region}")


def _metric(text: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    found = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", text, re.M)
    return float(found.group(1)) if found else None


def test_writer_reads_own_write_from_leader_while_others_read_the_follower(
    cluster: ClusterState, http: httpx.Client
) -> None:
    ana, bo = signup_user(http), signup_user(http)
    _settled(http, ana)
    _settled(http, bo)
    _pause(cluster, "local")
    _pause(cluster, "eu")
    try:
        patched = http.patch(f"{API}/me", headers=ana.headers, json={"bio": "replay is paused"})
        assert patched.status_code == 200, patched.text

        mine = _get(http, f"{API}/me", ana)
        assert mine.json()["bio"] == "replay is paused"
        assert mine.headers[NODE] == "leader"

        theirs = _get(http, f"{API}/users/{ana.username}", bo)
        assert theirs.json()["bio"] == "", theirs.headers
        assert theirs.headers[NODE] == "follower:local"
        # Still stale a moment later: nothing but the leader has the change.
        again = _get(http, f"{API}/users/{ana.username}")
        assert (again.json()["bio"], again.headers[NODE]) == ("", "follower:local")
    finally:
        _resume(cluster, "local")
        _resume(cluster, "eu")

    def converged() -> None:
        reply = _get(http, f"{API}/users/{ana.username}", bo)
        assert reply.json()["bio"] == "replay is paused"
        assert reply.headers[NODE] == "follower:local"

    eventually(converged)
    _settled(http, ana)


def test_every_kind_of_write_is_read_back_by_its_writer(
    cluster: ClusterState, http: httpx.Client
) -> None:
    ana, bo = signup_user(http), signup_user(http)
    media = http.post(
        f"{API}/media",
        headers=bo.headers,
        files={"file": ("p.png", _png(), "image/png")},
    ).json()
    _settled(http, ana)
    _pause(cluster, "local")
    _pause(cluster, "eu")
    try:
        assert http.put(f"{API}/media/{media['id']}/like", headers=ana.headers).status_code == 200
        seen = _get(http, f"{API}/media/{media['id']}", ana)
        assert seen.json()["liked_by_me"] is True and seen.json()["like_count"] == 1
        assert seen.headers[NODE] == "leader"
        assert http.put(f"{API}/users/{bo.username}/follow", headers=ana.headers).status_code == 200
        following = _get(http, f"{API}/users/{ana.username}/following", ana)
        assert [u["id"] for u in following.json()["items"]] == [bo.id]
        # Bo wrote nothing since: his reads stay on the paused follower.
        other = _get(http, f"{API}/media/{media['id']}", bo)
        assert other.json()["like_count"] == 0
        assert other.headers[NODE] == "follower:local"
        # A delete is a write by its actor too.
        assert http.delete(f"{API}/media/{media['id']}", headers=bo.headers).status_code == 204
        assert http.get(f"{API}/media/{media['id']}", headers=bo.headers).status_code == 404
        assert _get(http, f"{API}/users/{bo.username}", bo).json()["media_count"] == 0
    finally:
        _resume(cluster, "local")
        _resume(cluster, "eu")


def test_a_follower_lagging_past_the_bound_is_skipped(
    cluster: ClusterState, tmp_path_factory: pytest.TempPathFactory
) -> None:
    proc = _server(cluster, tmp_path_factory, max_follower_lag_s="1")
    try:
        with api_client(proc.base_url) as client:
            ana = signup_user(client)
            _settled(client, ana)
            _pause(cluster, "local")
            try:
                client.patch(f"{API}/me", headers=ana.headers, json={"bio": "x"})

                def skipped() -> None:
                    ready = client.get("/readyz")
                    assert ready.status_code == 200
                    assert ready.json()["checks"]["follower:local"].startswith("degraded: lagging")

                eventually(skipped, timeout=10)
                # Anonymous reads move to the other region's follower.
                reply = _get(client, f"{API}/users/{ana.username}")
                assert reply.headers[NODE] == "follower:eu"
                assert reply.json()["bio"] == "x"
                text = client.get("/metrics").text
                assert (
                    _metric(text, "gramstack_db_follower_replay_lag_seconds", follower="local") or 0
                ) > 1
                assert _metric(text, "gramstack_db_follower_up", follower="local") == 0
                assert _metric(text, "gramstack_db_follower_up", follower="eu") == 1
            finally:
                _resume(cluster, "local")
            eventually(lambda: client.get("/readyz").json()["checks"]["follower:local"] == "ok")
    finally:
        assert proc.stop() == 0, proc.log()


def test_killed_followers_leave_reads_to_the_others_and_then_the_leader(
    cluster: ClusterState, http: httpx.Client
) -> None:
    """Last in this module: it kills the cluster's followers."""
    ana = signup_user(http)
    _settled(http, ana)
    bindir = Path(cluster.bindir)
    postgres.stop(bindir, Path(cluster.follower("local").data), cluster.user, mode="immediate")
    # At once, before any poll noticed: every request still succeeds.
    nodes = [_get(http, f"{API}/users/{ana.username}", ana).headers[NODE] for _ in range(20)]
    assert "follower:local" not in nodes[-1]

    def local_down() -> None:
        ready = http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"]["follower:local"].startswith("degraded: down")
        assert _metric(http.get("/metrics").text, "gramstack_db_follower_up", follower="local") == 0

    eventually(local_down)
    assert _get(http, f"{API}/me", ana).headers[NODE] == "follower:eu"

    postgres.stop(bindir, Path(cluster.follower("eu").data), cluster.user, mode="immediate")
    for _ in range(20):
        _get(http, f"{API}/users/{ana.username}", ana)
    eventually(lambda: _get(http, f"{API}/me", ana).headers[NODE] == "leader")
    ready = http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"] == "ok"
    text = http.get("/metrics").text
    assert (_metric(text, "gramstack_db_reads_total", node="leader", reason="no_follower") or 0) > 0
    # Writes never depended on the followers.
    assert http.patch(f"{API}/me", headers=ana.headers, json={"bio": "alone"}).status_code == 200
    assert _get(http, f"{API}/me", ana).json()["bio"] == "alone"


def _png() -> bytes:
    from tests.api.conftest import make_image

    return make_image("PNG", (40, 30))
