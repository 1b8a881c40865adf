from __future__ import annotations

import asyncio

import httpx

from gramstack.api.deadline import DeadlineMiddleware
from gramstack.types import Receive, Scope, Send


async def _slow_app(scope: Scope, receive: Receive, send: Send) -> None:
    await asyncio.sleep(5)


async def _fast_app(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _own_timeout_app(scope: Scope, receive: Receive, send: Send) -> None:
    # A TimeoutError that is not the deadline's must not become a 504.
    raise TimeoutError("backend timed out on its own")


def _client(app: DeadlineMiddleware) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_request_past_deadline_is_cancelled_and_answered_504() -> None:
    cancelled = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with _client(DeadlineMiddleware(app, seconds=0.05)) as client:
        response = await client.get("/slow")
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "timeout"
    assert cancelled.is_set()


async def test_request_within_deadline_is_untouched() -> None:
    async with _client(DeadlineMiddleware(_fast_app, seconds=1)) as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.text == "ok"


async def test_a_timeout_raised_by_the_app_itself_propagates() -> None:
    async with _client(DeadlineMiddleware(_own_timeout_app, seconds=5)) as client:
        try:
            await client.get("/")
        except TimeoutError as exc:
            assert "on its own" in str(exc)
        else:
            raise AssertionError("the app's own TimeoutError was swallowed")
