"""Each backend stopped for real, one at a time, under a real server: a
request that needs it answers 503 ``unavailable`` with Retry-After in the
api.md error shape, one that can be answered without it still is, and
everything recovers once it is back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gramstack.runtime.devcluster.memcached import start_memcached, stop_memcached
from tests.faults.client import API, READ_NODE, Client, Ledger
from tests.faults.stack import Stack, stack_env, start_node, stop_node, wait_until_ok
from tests.support.postgres import start_cluster, stop_cluster

pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    cluster = start_cluster(followers=1)
    memcached = start_memcached()  # no gutter pool
    running = Stack(
        cluster, Path(tmp_path_factory.mktemp("outages")), stack_env(cluster, memcached), memcached
    )
    try:
        running.start_server(workers=2)
        yield running
    finally:
        running.close()
        stop_cluster(cluster)


@pytest.fixture(scope="module")
def people(stack: Stack) -> Iterator[tuple[Client, str]]:
    ledger = Ledger()
    ana = Client(stack.url, ledger)
    assert ana.signup("out_ana")
    media_id = ana.post("out_ana")
    assert media_id is not None
    yield ana, media_id
    ana.close()


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == {
        "error": {"code": "unavailable", "message": response.json()["error"]["message"]}
    }
    assert int(response.headers["retry-after"]) >= 1
    # No stack trace, SQL or server path in the answer.
    for leak in ("Traceback", "asyncpg", "SELECT", "/tmp", "127.0.0.1"):
        assert leak not in response.text


def test_leader_down_writes_answer_503_and_anonymous_reads_go_on(
    stack: Stack, people: tuple[Client, str]
) -> None:
    ana, media_id = people
    anonymous = httpx.Client(base_url=stack.url, timeout=30)
    wait_until_ok(anonymous, f"{API}/media/{media_id}")
    stop_node(stack.cluster, stack.cluster.leader)
    try:
        started = time.monotonic()
        like = ana.call("PUT", f"{API}/media/{media_id}/like")
        comment = ana.call("POST", f"{API}/media/{media_id}/comments", json={"text": "hi"})
        signup = anonymous.post(
            f"{API}/accounts", json={"username": "out_new", "password": "pw-12345678"}
        )
        for response in (like, comment, signup):
            assert response is not None
            _assert_unavailable(response)
        assert time.monotonic() - started < 3 * 2.0  # refused at once, not at the deadline
        for path in (f"{API}/media/{media_id}", f"{API}/users/out_ana/followers"):
            read = anonymous.get(path)
            assert read.status_code == 200, read.text
            # From the cache, or from the follower; never from the leader.
            assert read.headers.get(READ_NODE, "follower:local") == "follower:local"
        ready = anonymous.get("/readyz")
        assert ready.status_code == 503 and ready.json()["error"]["code"] == "unavailable"
    finally:
        start_node(stack.cluster, stack.cluster.leader)
    recovered = wait_until_ok(anonymous, "/readyz")
    response = ana.call("PUT", f"{API}/media/{media_id}/like")
    assert response is not None and response.status_code == 200, response
    print(f"\nleader down: readyz recovered {recovered:.2f}s after restart")
    anonymous.close()


def test_every_follower_down_reads_move_to_the_leader(
    stack: Stack, people: tuple[Client, str]
) -> None:
    ana, _ = people
    follower = stack.cluster.follower("local")
    anonymous = httpx.Client(base_url=stack.url, timeout=30)
    stop_node(stack.cluster, follower)
    try:
        for _ in range(5):
            read = anonymous.get(f"{API}/users/out_ana/followers")
            assert read.status_code == 200, read.text
        assert read.headers[READ_NODE] == "leader"
        me = ana.call("GET", f"{API}/me")
        assert me is not None and me.status_code == 200
        assert anonymous.get("/readyz").status_code == 200  # a degraded replica is skipped
    finally:
        start_node(stack.cluster, follower)

    def served_by_follower() -> bool:
        read = anonymous.get(f"{API}/users/out_ana/followers")
        return read.headers.get(READ_NODE) == "follower:local"

    deadline = time.monotonic() + 30
    while not served_by_follower():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    anonymous.close()


def test_memcached_down_without_gutter_reads_and_writes_go_to_the_store(
    stack: Stack, people: tuple[Client, str]
) -> None:
    ana, media_id = people
    assert stack.memcached is not None
    anonymous = httpx.Client(base_url=stack.url, timeout=30)
    stop_memcached(stack.memcached, hard=True)
    try:
        for path in (f"{API}/media/{media_id}", f"{API}/users/out_ana", f"{API}/feed"):
            response = ana.call("GET", path)
            assert response is not None and response.status_code == 200, (path, response)
        ana.comment("out_ana", media_id)
        assert ana.ledger.comments
        comments = anonymous.get(f"{API}/media/{media_id}/comments").json()["items"]
        assert {c["id"] for c in comments} >= set(ana.ledger.comments)
        ready = anonymous.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["cache"].startswith("failing")
    finally:
        stack.restart_memcached()
    recovered = wait_until_ok(anonymous, "/readyz")
    print(f"\nmemcached down: readyz recovered {recovered:.2f}s after restart")
    anonymous.close()
