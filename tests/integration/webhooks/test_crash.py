"""A webhook delivery survives its worker's death: ``gramstack worker`` is
killed (SIGKILL) while its request is at a real local receiver, and the
event reaches the receiver again, with the same event ID, from the next
worker once the first one's job claim has run out."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import eventually, follow, signup_user
from tests.integration.webhooks.test_delivery import Receiver, register
from tests.support.server import ServerProcess, start_server
from tests.support.worker import start_worker

CLAIM_S = 3.0
ENV = {
    "GRAMSTACK_RUN_JOBS_IN_SERVER": "0",  # the worker processes send
    "GRAMSTACK_JOB_CLAIM_S": str(CLAIM_S),
    "GRAMSTACK_WEBHOOK_ALLOW_PRIVATE": "1",  # the receiver is on 127.0.0.1
    # Longer than the test takes to kill the worker: the first attempt has
    # no outcome (no timeout, no retry) when the process dies.
    "GRAMSTACK_WEBHOOK_DEADLINE_S": "2.5",
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path / "data", env=ENV, workers=1)
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(stall=True)  # holds the first request until released
    yield r
    r.close()


def _jobs(data_dir: Path) -> list[str]:
    with sqlite3.connect(data_dir / "gramstack.db", timeout=10) as db:
        return [str(kind) for (kind,) in db.execute("SELECT kind FROM jobs")]


def test_a_worker_killed_mid_send_leaves_the_event_to_be_sent_again(
    server: ServerProcess, receiver: Receiver
) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        ana, bo = signup_user(http), signup_user(http)
        register(http, ana, receiver.url)
        follow(http, bo, ana.username)  # an event for ana's webhook, queued

    first = start_worker(server.data_dir, "first", ENV)
    try:
        eventually(lambda: len(receiver.requests) == 1, timeout=20)
    finally:
        first.kill()  # mid-send: the receiver has the request, no answer went back
    killed_at = time.monotonic()
    assert _jobs(server.data_dir) == ["webhook_deliver"], first.log()
    receiver.stall = False  # the receiver answers from now on

    second = start_worker(server.data_dir, "second", ENV)
    try:
        eventually(lambda: len(receiver.requests) == 2, timeout=20)
        # Not before the dead worker's claim ran out.
        assert time.monotonic() - killed_at >= CLAIM_S - 0.5
        eventually(lambda: _jobs(server.data_dir) == [], timeout=10)
        time.sleep(1)
        assert len(receiver.requests) == 2  # delivered: sent no more
    finally:
        assert second.terminate() == 0, second.log()
    (headers1, _), (headers2, _) = receiver.requests
    assert headers1["X-Gramstack-Event-Id"] == headers2["X-Gramstack-Event-Id"]
    first_event, second_event = receiver.events()
    assert first_event == second_event
    assert first_event["type"] == "follow" and first_event["user_id"] == ana.id
