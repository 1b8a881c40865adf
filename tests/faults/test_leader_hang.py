"""A hung PostgreSQL leader (SIGSTOP on all its processes) against a real
server: writes fail fast with 503, follower reads go on, /readyz answers in
time, and SIGCONT brings everything back."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.faults.client import API, READ_NODE, Client, Ledger
from tests.faults.stack import HANG_BOUND_S, SLACK_S, Stack, signal_node, stack_env, wait_until_ok
from tests.support.postgres import start_cluster, stop_cluster

pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    cluster = start_cluster(followers=1)  # this module's own: it gets hung
    # No cache: every read below really reaches a database node.
    env = stack_env(cluster, None) | {"GRAMSTACK_CACHE_BACKEND": "none"}
    running = Stack(cluster, Path(tmp_path_factory.mktemp("hang")), env)
    try:
        running.start_server(workers=1)
        yield running
    finally:
        signal_node(cluster.leader, signal.SIGCONT)
        running.close()
        stop_cluster(cluster)


def _timed(
    http: httpx.Client, method: str, path: str, **kw: object
) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = http.request(method, path, **kw)  # type: ignore[arg-type]
    return response, time.monotonic() - started


def test_a_hung_leader_costs_writes_a_fast_503_and_reads_go_on(stack: Stack) -> None:
    ledger = Ledger()
    ana, bo = Client(stack.url, ledger), Client(stack.url, ledger)
    assert ana.signup("hang_ana") and bo.signup("hang_bo")
    media_id = ana.post("hang_ana")
    assert media_id is not None
    anonymous = httpx.Client(base_url=stack.url, timeout=30)
    auth = {"Authorization": f"Bearer {bo.token}"}
    media = f"{API}/media/{media_id}"
    # The follower has the post before the leader hangs.
    wait_until_ok(anonymous, media)

    signal_node(stack.cluster.leader, signal.SIGSTOP)
    hung_at = time.monotonic()
    try:
        # Writes: 503 unavailable with Retry-After, within the bound, even
        # several at once (no pool wait piles up behind the hung ones).
        with ThreadPoolExecutor(6) as pool:
            answers = list(
                pool.map(
                    lambda _: _timed(anonymous, "PUT", f"{media}/like", headers=auth), range(6)
                )
            )
        for response, elapsed in answers:
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "unavailable"
            assert int(response.headers["retry-after"]) >= 1
            assert elapsed <= 2 * HANG_BOUND_S + SLACK_S, elapsed

        # Anonymous reads are served by the follower, without waiting.
        for path in (media, f"{API}/users/hang_ana", f"{API}/users/hang_ana/media"):
            response, elapsed = _timed(anonymous, "GET", path)
            assert response.status_code == 200, (path, response.text)
            assert response.headers[READ_NODE] == "follower:local"
            assert elapsed < 1.0, (path, elapsed)

        # Readiness answers within its 2 s probe timeout, and says why.
        response, elapsed = _timed(anonymous, "GET", "/readyz")
        assert elapsed <= 2.0 + SLACK_S, elapsed
        assert response.status_code == 503
        assert response.json()["checks"]["database"].startswith("failing")
        assert response.json()["checks"]["follower:local"] == "ok"
    finally:
        signal_node(stack.cluster.leader, signal.SIGCONT)
    hang_s = time.monotonic() - hung_at

    # After SIGCONT: writes, authenticated reads and readiness come back.
    started = time.monotonic()
    while True:
        response = anonymous.put(f"{media}/like", headers=auth)
        if response.status_code == 200:
            break
        assert time.monotonic() - started < 30, response.text
        time.sleep(0.1)
    recovery_s = time.monotonic() - started
    assert response.json()["like_count"] == 1
    assert anonymous.get("/readyz").status_code == 200
    assert anonymous.get(f"{API}/me", headers=auth).status_code == 200
    slowest_write = max(elapsed for _, elapsed in answers)
    print(
        f"\nleader hang: writes 503 in <= {slowest_write:.2f}s, held {hang_s:.1f}s,"
        f" writes recovered {recovery_s:.2f}s after SIGCONT"
    )
    for client in (ana, bo):
        client.close()
    anonymous.close()
