from __future__ import annotations

import asyncio

import httpx

from gramstack.api.front import RequestFront
from gramstack.types import ASGIApp, Receive, Scope, Send


async def _slow_app(scope: Scope, receive: Receive, send: Send) -> None:
    await asyncio.sleep(5)


async def _fast_app(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _own_timeout_app(scope: Scope, receive: Receive, send: Send) -> None:
    # A TimeoutError that is not the deadline's must not become a 504.
    raise TimeoutError("backend timed out on its own")


def _front(app: ASGIApp, seconds: float) -> RequestFront:
    # The deadline as it runs: in the front, with no exception handlers.
    return RequestFront(app, deadline_s=seconds, handlers={})


def _client(app: RequestFront) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_request_past_deadline_is_cancelled_and_answered_504() -> None:
    cancelled = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with _client(_front(app, 0.05)) as client:
        response = await client.get("/slow")
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "timeout"
    assert cancelled.is_set()


async def test_request_within_deadline_is_untouched() -> None:
    async with _client(_front(_fast_app, 1)) as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.text == "ok"


async def test_a_timeout_raised_by_the_app_itself_is_not_the_deadlines() -> None:
    # An error like any other (500), not a 504.
    async with _client(_front(_own_timeout_app, 5)) as client:
        response = await client.get("/")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"


async def test_a_cancellation_from_elsewhere_is_not_taken_for_the_deadline() -> None:
    started = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        started.set()
        await asyncio.sleep(5)

    middleware = _front(app, 5)
    scope: Scope = {"type": "http", "method": "GET", "path": "/"}

    async def receive() -> dict[str, object]:
        return {"type": "http.request"}

    async def send(message: dict[str, object]) -> None:
        raise AssertionError("nothing is answered for a cancelled request")

    request = asyncio.create_task(middleware(scope, receive, send))
    await started.wait()
    request.cancel()  # e.g. the client went away
    try:
        await request
    except asyncio.CancelledError:
        pass
    else:
        raise AssertionError("the cancellation was swallowed")


async def test_requests_keep_their_own_deadlines_on_one_worker() -> None:
    """Many requests at once: the slow ones are cut off near their deadline,
    the quick ones are answered, and nothing is left behind."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] != "/quick":
            await asyncio.sleep(30)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    middleware = _front(app, 0.5)
    loop = asyncio.get_running_loop()
    async with _client(middleware) as client:
        started = loop.time()
        answers = await asyncio.gather(
            *(client.get("/quick" if n % 2 else "/slow") for n in range(20))
        )
        took = loop.time() - started
    assert sorted(a.status_code for a in answers) == [200] * 10 + [504] * 10
    assert 0.5 <= took < 0.5 + 0.05 + 2  # the deadline, a sweep, a busy machine
    assert not middleware.deadlines._running and not middleware.deadlines._expired
