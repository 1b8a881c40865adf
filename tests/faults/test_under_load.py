"""The operator's fault drill, automated: under a small mixed load on the
scaled setup (leader + follower, memcached, invalidator, two workers), kill
memcached, a follower, the invalidator and a worker, stop the leader and
hang it, one after another; then check that every acknowledged write is on
the leader and every counter equals its rows.

Per fault it reports what users saw (5xx, 503, past the deadline), the
acknowledged writes lost, and how long the service took to take writes
again once the backend was back; printed, and written to ``faults.json``
in the test's temporary directory."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from gramstack.runtime.devcluster.memcached import start_memcached, stop_memcached
from tests.faults.client import API, Client, Ledger, Tally
from tests.faults.stack import (
    Stack,
    signal_node,
    stack_env,
    start_invalidator,
    start_node,
    stop_node,
)
from tests.support.postgres import start_cluster, stop_cluster

pytestmark = pytest.mark.faults

CLIENTS = 4
HOLD_S = 3.0  # how long each fault lasts under load
RECOVERY_LIMIT_S = 60.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    cluster = start_cluster(followers=1)
    memcached = start_memcached()
    directory = Path(tmp_path_factory.mktemp("drill"))
    running = Stack(cluster, directory, stack_env(cluster, memcached), memcached)
    try:
        running.invalidator = start_invalidator(running.env, directory / "invalidator.log")
        running.start_server(workers=2)
        yield running
    finally:
        signal_node(cluster.leader, signal.SIGCONT)
        running.close()
        stop_cluster(cluster)


class Load:
    """``CLIENTS`` users, each in its own thread, doing what users do."""

    def __init__(self, stack: Stack, ledger: Ledger) -> None:
        self._stack = stack
        self._ledger = ledger
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._user, args=(i,), daemon=True) for i in range(CLIENTS)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def _user(self, index: int) -> None:
        rng = random.Random(index)
        me = f"load{index}"
        client = Client(self._stack.url, self._ledger)
        anonymous = Client(self._stack.url, self._ledger)
        try:
            while not client.signup(me):
                if self._stop.wait(0.2):
                    return
            n = 0
            while not self._stop.is_set():
                n += 1
                with self._ledger.lock:
                    media = list(self._ledger.media)
                    people = list(self._ledger.users)
                op = rng.random()
                if op < 0.05 or not media:
                    client.post(me)
                elif op < 0.1:
                    newcomer = Client(self._stack.url, self._ledger)
                    newcomer.signup(f"{me}x{n}")
                    newcomer.close()
                elif op < 0.3:
                    client.like(me, rng.choice(media))
                elif op < 0.45:
                    client.comment(me, rng.choice(media))
                elif op < 0.55:
                    other = rng.choice(people)
                    if other != me:
                        client.follow(me, other)
                elif op < 0.75:
                    anonymous.call("GET", f"{API}/media/{rng.choice(media)}")
                elif op < 0.9:
                    client.call("GET", f"{API}/feed")
                else:
                    anonymous.call("GET", f"{API}/users/{rng.choice(people)}")
                self._stop.wait(0.02)
        finally:
            client.close()
            anonymous.close()


def _takes_writes(stack: Stack, probe: Client, media_id: str) -> float:
    """Seconds until readiness is back and a write is acknowledged."""
    started = time.monotonic()
    while time.monotonic() - started < RECOVERY_LIMIT_S:
        try:
            ready = httpx.get(stack.url + "/readyz", timeout=5).status_code == 200
        except httpx.HTTPError:
            ready = False
        if ready:
            before = len(probe.ledger.comments)
            probe.comment("probe", media_id)
            if len(probe.ledger.comments) > before:
                return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError("the service did not take writes again")


def _kill_a_worker(stack: Stack) -> Callable[[], None]:
    workers = stack.worker_pids()
    assert len(workers) == 2, workers
    os.kill(workers[0], signal.SIGKILL)
    return lambda: None  # gunicorn's master starts a new one by itself


def _kill_memcached(stack: Stack) -> Callable[[], None]:
    assert stack.memcached is not None
    stop_memcached(stack.memcached, hard=True)
    return stack.restart_memcached


def _stop_follower(stack: Stack) -> Callable[[], None]:
    follower = stack.cluster.follower("local")
    stop_node(stack.cluster, follower)
    return lambda: start_node(stack.cluster, follower)


def _kill_invalidator(stack: Stack) -> Callable[[], None]:
    assert stack.invalidator is not None
    stack.invalidator.process.kill()
    stack.invalidator.process.wait()
    log_path = stack.invalidator.log_path

    def restart() -> None:
        stack.invalidator = start_invalidator(stack.env, log_path)

    return restart


def _stop_leader(stack: Stack) -> Callable[[], None]:
    stop_node(stack.cluster, stack.cluster.leader)
    return lambda: start_node(stack.cluster, stack.cluster.leader)


def _hang_leader(stack: Stack) -> Callable[[], None]:
    signal_node(stack.cluster.leader, signal.SIGSTOP)
    return lambda: signal_node(stack.cluster.leader, signal.SIGCONT)


FAULTS: list[tuple[str, Callable[[Stack], Callable[[], None]], bool]] = [
    # (name, break it and return how to mend it, whether users may see 503s)
    ("memcached killed", _kill_memcached, False),
    ("follower stopped", _stop_follower, False),
    ("invalidator killed", _kill_invalidator, False),
    ("worker killed", _kill_a_worker, False),
    ("leader stopped", _stop_leader, True),
    ("leader hung (SIGSTOP)", _hang_leader, True),
]


async def _check_the_leader(stack: Stack, ledger: Ledger) -> dict[str, list[str]]:
    """What an acknowledged write left behind that the leader does not have,
    and every counter that differs from its rows."""
    db = await asyncpg.connect(stack.cluster.database_url)
    try:
        ids = {r["username"]: r["id"] for r in await db.fetch("SELECT id, username FROM users")}
        media = {str(r["id"]) for r in await db.fetch("SELECT id FROM media")}
        likes = {(r["user_id"], str(r["media_id"])) for r in await db.fetch("SELECT * FROM likes")}
        comments = {str(r["id"]) for r in await db.fetch("SELECT id FROM comments")}
        follows = {
            (r["follower_id"], r["followee_id"]) for r in await db.fetch("SELECT * FROM follows")
        }
        lost = {
            "users": [u for u in ledger.users if u not in ids],
            "media": [m for m in ledger.media if m not in media],
            "likes": [f"{u}->{m}" for u, m in ledger.likes if (ids.get(u), m) not in likes],
            "comments": [c for c in ledger.comments if c not in comments],
            "follows": [
                f"{a}->{b}" for a, b in ledger.follows if (ids.get(a), ids.get(b)) not in follows
            ],
        }
        wrong = await db.fetch(
            """
            SELECT 'media ' || m.id AS what FROM media m
             WHERE m.like_count <> (SELECT count(*) FROM likes l WHERE l.media_id = m.id)
                OR m.comment_count <> (SELECT count(*) FROM comments c WHERE c.media_id = m.id)
            UNION ALL
            SELECT 'user ' || u.username FROM users u
             WHERE u.follower_count <> (SELECT count(*) FROM follows f WHERE f.followee_id = u.id)
                OR u.following_count <> (SELECT count(*) FROM follows f WHERE f.follower_id = u.id)
                OR u.media_count <> (SELECT count(*) FROM media m WHERE m.owner_id = u.id)
            """
        )
        lost["counters"] = [r["what"] for r in wrong]
        return lost
    finally:
        await db.close()


def test_every_acknowledged_write_survives_the_fault_drill(stack: Stack, tmp_path: Path) -> None:
    ledger = Ledger()
    probe = Client(stack.url, ledger)
    assert probe.signup("probe")
    probe_media = probe.post("probe")
    assert probe_media is not None
    load = Load(stack, ledger)
    load.start()
    report: dict[str, dict[str, object]] = {}
    try:
        time.sleep(HOLD_S)
        report["calm"] = ledger.next_phase().as_dict()
        for name, fault, may_503 in FAULTS:
            writes_before = _write_count(ledger)
            mend = fault(stack)
            time.sleep(HOLD_S)
            mend()
            recovery_s = _takes_writes(stack, probe, probe_media)
            time.sleep(0.5)  # let requests cut off by the fault finish
            tally = ledger.next_phase()
            report[name] = {
                **tally.as_dict(),
                "acknowledged_writes": _write_count(ledger) - writes_before,
                "recovery_s": round(recovery_s, 2),
            }
            _assert_kept_promises(name, tally, may_503)
    finally:
        load.stop()
        probe.close()
    lost = asyncio.run(_check_the_leader(stack, ledger))
    report["end"] = {
        "acknowledged_writes": _write_count(ledger),
        "lost": {kind: len(items) for kind, items in lost.items()},
    }
    text = json.dumps(report, indent=2)
    (tmp_path / "faults.json").write_text(text)
    print(f"\nfault drill ({tmp_path / 'faults.json'}):\n{text}")
    assert not any(lost.values()), lost
    assert _write_count(ledger) > 50  # the load really wrote


def _write_count(ledger: Ledger) -> int:
    with ledger.lock:
        return (
            len(ledger.users)
            + len(ledger.media)
            + len(ledger.likes)
            + len(ledger.comments)
            + len(ledger.follows)
        )


def _assert_kept_promises(name: str, tally: Tally, may_503: bool) -> None:
    assert tally.past_deadline == 0, (name, tally)
    assert tally.unshaped_errors == 0, (name, tally)
    assert tally.missing_retry_after == 0, (name, tally)
    # The only server error users may see is 503 unavailable, and only
    # while the leader is gone.
    assert tally.errors_5xx == tally.unavailable_503, (name, tally)
    if not may_503:
        assert tally.unavailable_503 == 0, (name, tally)
