"""Webhooks end to end: a real ``gramstack serve`` process (its job worker
sends the deliveries) and real HTTP receivers on local ports: one that
answers and checks signatures, one that takes requests and never answers,
and a port where nothing listens."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.api.conftest import (
    API,
    Account,
    api_client,
    comment,
    eventually,
    follow,
    ids,
    like,
    paginate,
    post_media,
    signup_user,
)
from tests.support.server import ServerProcess, start_server

DEADLINE_S = 2.0
MAX_ATTEMPTS = 4
BREAKER_FAILURES = 3
WEBHOOK_ENV = {
    "GRAMSTACK_WEBHOOK_ALLOW_PRIVATE": "1",  # the receivers are on 127.0.0.1
    "GRAMSTACK_WEBHOOK_DEADLINE_S": str(DEADLINE_S),
    "GRAMSTACK_WEBHOOK_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
    "GRAMSTACK_WEBHOOK_BACKOFF_S": "0.2",
    "GRAMSTACK_WEBHOOK_BREAKER_FAILURES": str(BREAKER_FAILURES),
    "GRAMSTACK_WEBHOOK_BREAKER_COOLDOWN_S": "600",
}


@dataclass
class Receiver:
    """A local HTTP server; ``stall`` makes it read each request and never answer."""

    stall: bool = False
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers.items()), body))
                if receiver.stall:
                    receiver.release.wait()
                    return
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.requests]

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # One worker process: one circuit breaker to reason about.
    proc = start_server(tmp_path_factory.mktemp("webhooks"), env=WEBHOOK_ENV, workers=1)
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with api_client(server.base_url) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def staller() -> Iterator[Receiver]:
    r = Receiver(stall=True)
    yield r
    r.close()


def register(http: httpx.Client, account: Account, url: str) -> str:
    response = http.put(f"{API}/me/webhook", headers=account.headers, json={"url": url})
    assert response.status_code == 200, response.text
    assert response.json()["url"] == url
    secret: str = response.json()["secret"]
    return secret


def test_events_arrive_signed_with_the_users_secret(http: httpx.Client, receiver: Receiver) -> None:
    ana, bo = signup_user(http), signup_user(http)
    secret = register(http, ana, receiver.url)
    media = post_media(http, ana)
    like(http, bo, media["id"])
    comment(http, bo, media["id"], "nice")
    follow(http, bo, ana.username)
    eventually(lambda: len(receiver.requests) == 3)
    activity = {item["id"]: item for item in paginate(http, f"{API}/activity", ana, limit=10)}
    for headers, body in receiver.requests:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Gramstack-Signature"] == f"sha256={expected}"
        assert headers["Content-Type"] == "application/json"
        event = json.loads(body)
        assert headers["X-Gramstack-Event-Id"] == event["event_id"]
        item = activity[event["event_id"]]  # the event ID is the activity item's
        assert event["type"] == item["type"]
        assert event["actor"] == {"id": bo.id, "username": bo.username}
        assert event["user_id"] == ana.id
        assert event["media_id"] == item["media_id"]
        assert event["created_at"] == item["created_at"]
        assert event["attempt"] == 1
    assert sorted(e["type"] for e in receiver.events()) == ["comment", "follow", "like"]
    # Removed: no more deliveries.
    assert http.delete(f"{API}/me/webhook", headers=ana.headers).status_code == 204
    like(http, signup_user(http), media["id"])
    time.sleep(1)
    assert len(receiver.requests) == 3


def test_a_stalling_receiver_slows_neither_requests_nor_fanout_and_trips_the_breaker(
    http: httpx.Client, server: ServerProcess, staller: Receiver, receiver: Receiver
) -> None:
    ana, cy, healthy = signup_user(http), signup_user(http), signup_user(http)
    register(http, ana, staller.url)
    register(http, healthy, receiver.url)
    follow(http, ana, cy.username)
    media = post_media(http, ana)
    fans = [signup_user(http) for _ in range(BREAKER_FAILURES + 2)]
    for fan in fans:
        started = time.monotonic()
        like(http, fan, media["id"])
        # The request path only enqueues; the stalled receiver is not on it.
        assert time.monotonic() - started < DEADLINE_S / 2
    eventually(lambda: len(staller.requests) >= BREAKER_FAILURES)
    # While those deliveries hang, the worker still runs other jobs: a post
    # by cy reaches ana's feed, and an event reaches a healthy receiver,
    # sooner than one stalled attempt's deadline.
    started = time.monotonic()
    post = post_media(http, cy)
    follow(http, ana, healthy.username)
    eventually(lambda: post["id"] in ids(paginate(http, f"{API}/feed", ana, limit=50)), timeout=10)
    eventually(lambda: len(receiver.requests) == 1, timeout=10)
    assert time.monotonic() - started < DEADLINE_S
    assert len(staller.requests) >= BREAKER_FAILURES
    # Every attempt times out; the circuit opens, and the retries (there is
    # one per event per backoff) never reach the receiver during the cooldown.
    seen = len(staller.requests)
    assert seen <= len(fans)  # the first attempts, sent before any timed out
    time.sleep(DEADLINE_S + 3)
    assert len(staller.requests) == seen
    log = server.log()
    # A retry that meets the open circuit waits out the cooldown (600 s).
    waits = re.findall(r"circuit open for http://127\.0\.0\.1:\d+\); retry in (\d+)ms", log)
    assert waits and all(int(ms) >= 590_000 for ms in waits)
    assert re.search(r"no answer within 2\.0s\); retry in \d+ms", log)


def test_a_dead_port_is_retried_with_backoff_then_given_up(
    http: httpx.Client, server: ServerProcess
) -> None:
    with socket.socket() as probe:  # nothing listens here: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ana, bo = signup_user(http), signup_user(http)
    register(http, ana, f"http://127.0.0.1:{port}/hook")
    follow(http, bo, ana.username)

    def attempts() -> list[str]:
        return re.findall(
            rf"event (\d+) for user {ana.id} failed \(([^)]*)\); retry in (\d+)ms", server.log()
        )

    eventually(
        lambda: f"for user {ana.id} given up after {MAX_ATTEMPTS} attempts" in server.log(),
        timeout=20,
    )
    failures = attempts()
    assert len(failures) == MAX_ATTEMPTS - 1
    assert len({event for event, _, _ in failures}) == 1  # one event, retried
    assert "ConnectError" in failures[0][1]
    delays = [int(ms) for _, _, ms in failures]
    for n, delay in enumerate(delays):
        assert 100 * 2**n <= delay <= 200 * 2**n  # 0.2 s doubling, jittered down to half
