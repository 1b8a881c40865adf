"""The request front on its own routes: what it answers for a route's
exceptions and for the deadline, what it counts, and that a bug's 500
keeps the client's connection (under a real uvicorn server)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import httpx
import uvicorn
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gramstack.api import errors
from gramstack.api.front import RequestFront
from gramstack.api.metrics import SAMPLES
from gramstack.api.routing import IndexedRouter
from gramstack.domain.errors import DomainError, NotFound, RateLimited, Unauthorized
from gramstack.runtime.config import Settings
from gramstack.storage.ports import BackendUnavailable
from gramstack.types import ASGIApp, Receive, Scope, Send


async def _item(request: Request) -> Response:
    return PlainTextResponse(f"item {request.path_params['id']}")


async def _slow(request: Request) -> Response:
    await asyncio.sleep(30)
    return PlainTextResponse("too late")


async def _missing(request: Request) -> Response:
    raise NotFound("item", 7)


async def _limited(request: Request) -> Response:
    raise RateLimited(retry_after=2.5)


async def _signed_out(request: Request) -> Response:
    raise Unauthorized("sign in")


async def _database_down(request: Request) -> Response:
    raise BackendUnavailable("leader", "connection refused")


async def _bug(request: Request) -> Response:
    raise RuntimeError("SELECT secret FROM internals")


async def _asks_itself(request: Request) -> Response:
    """As the web UI's pages do: the app asked in-process, on this task."""
    statuses: list[int] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(int(message["status"]))  # type: ignore[call-overload]

    inner = {**request.scope, "path": "/missing", "raw_path": b"/missing", "state": {}}
    await request.app(inner, receive, send)
    return PlainTextResponse(f"the inner request answered {statuses}")


def _app(deadline_s: float = 5.0) -> Starlette:
    """The front over an indexed router, assembled as create_app does."""
    routes = [
        Route("/items/{id:int}", _item, methods=["GET"]),
        Route("/slow", _slow),
        Route("/missing", _missing),
        Route("/limited", _limited),
        Route("/signed-out", _signed_out),
        Route("/database-down", _database_down),
        Route("/bug", _bug),
        Route("/asks-itself", _asks_itself),
    ]
    app = Starlette(routes=routes)
    app.router = IndexedRouter(routes)
    app.state.settings = Settings()
    app.middleware_stack = RequestFront(
        app.router,
        deadline_s=deadline_s,
        handlers={
            DomainError: errors.domain_error,
            BackendUnavailable: errors.domain_error,
            HTTPException: errors.http_error,
        },
    )
    return app


def _client(app: ASGIApp) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


def _count(method: str, route: str, status: int) -> float:
    SAMPLES.flush()  # what the deadline sweep does within a quarter second
    labels = {"method": method, "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("gramstack_http_requests_total", labels) or 0.0


def _latency_count(method: str, route: str) -> float:
    SAMPLES.flush()
    labels = {"method": method, "route": route}
    return REGISTRY.get_sample_value("gramstack_http_request_duration_seconds_count", labels) or 0.0


async def test_a_request_past_the_deadline_is_answered_504_and_counted() -> None:
    before = _count("GET", "/slow", 504)
    async with _client(_app(deadline_s=0.05)) as client:
        response = await client.get("/slow")
    assert response.status_code == 504
    assert response.json() == {
        "error": {"code": "timeout", "message": "the request took longer than 0.05 s"}
    }
    assert _count("GET", "/slow", 504) == before + 1


async def test_metrics_are_labelled_by_route_template_never_the_raw_path() -> None:
    before = _count("GET", "/items/{id:int}", 200)
    latency_before = _latency_count("GET", "/items/{id:int}")
    unmatched = _count("GET", "unmatched", 404)
    async with _client(_app()) as client:
        for item in (1, 2, 3):
            assert (await client.get(f"/items/{item}")).text == f"item {item}"
        assert (await client.get("/no/such/path")).status_code == 404
    assert _count("GET", "/items/{id:int}", 200) == before + 3
    assert _latency_count("GET", "/items/{id:int}") == latency_before + 3
    assert _count("GET", "/items/1", 200) == 0
    assert _count("GET", "unmatched", 404) == unmatched + 1


async def test_domain_errors_are_answered_by_the_table() -> None:
    async with _client(_app()) as client:
        missing = await client.get("/missing")
        limited = await client.get("/limited")
        signed_out = await client.get("/signed-out", headers={"cookie": "gs_session=expired"})
        down = await client.get("/database-down")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "item not found"}}
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited.headers["retry-after"] == "3"
    assert signed_out.status_code == 401
    assert signed_out.headers["www-authenticate"] == 'Bearer realm="gramstack"'
    # A dead session cookie is cleared.
    assert 'gs_session=""' in signed_out.headers["set-cookie"]
    assert down.status_code == 503
    assert down.json()["error"] == {
        "code": "unavailable",
        "message": "a backend is unavailable, try again shortly",
    }
    assert down.headers["retry-after"] == str(Settings().unavailable_retry_after_s)


async def test_framework_errors_are_answered_in_the_api_shape() -> None:
    before = _count("POST", "/items/{id:int}", 405)
    async with _client(_app()) as client:
        wrong_method = await client.post("/items/1")
        unknown = await client.get("/nothing/here")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert set(wrong_method.headers["allow"].split(", ")) == {"GET", "HEAD"}
    assert _count("POST", "/items/{id:int}", 405) == before + 1
    assert unknown.status_code == 404
    assert unknown.json() == {"error": {"code": "not_found", "message": "no such resource"}}


async def test_an_unexpected_error_is_a_500_without_internals() -> None:
    before = _count("GET", "/bug", 500)
    async with _client(_app()) as client:
        response = await client.get("/bug")
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "internal_error", "message": "something went wrong on our side"}
    }
    assert _count("GET", "/bug", 500) == before + 1


async def test_the_in_flight_gauge_follows_running_requests() -> None:
    release = asyncio.Event()

    async def held(scope: Scope, receive: Receive, send: Send) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    front = RequestFront(held, deadline_s=1.0, handlers={})  # a sweep every 0.1 s

    def in_flight() -> float | None:
        return REGISTRY.get_sample_value("gramstack_http_requests_in_flight")

    async with _client(front) as client:
        requests = [asyncio.create_task(client.get(f"/{n}")) for n in range(3)]
        await asyncio.sleep(0.35)
        assert in_flight() == 3
        release.set()
        assert [r.status_code for r in await asyncio.gather(*requests)] == [200] * 3
        await asyncio.sleep(0.35)
        assert in_flight() == 0


@contextlib.asynccontextmanager
async def _serving(app: Starlette) -> AsyncIterator[int]:
    """``app`` under uvicorn on a free loopback port, in this event loop."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port: int = listener.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        await serving
        listener.close()


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str
) -> tuple[bytes, bytes]:
    """One HTTP/1.1 request on an open connection: (head, body)."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, await reader.readexactly(length)


async def test_an_unexpected_error_keeps_the_connection() -> None:
    async with _serving(_app()) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            head, body = await asyncio.wait_for(_exchange(reader, writer, "/bug"), 10)
            assert head.startswith(b"HTTP/1.1 500 ")
            assert b"connection: close" not in head.lower()
            assert b'"internal_error"' in body
            # The same connection serves the next request.
            head, body = await asyncio.wait_for(_exchange(reader, writer, "/items/7"), 10)
            assert head.startswith(b"HTTP/1.1 200 ")
            assert body == b"item 7"
        finally:
            writer.close()


async def test_lifespan_passes_through_the_front() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    app = _app()
    app.router.lifespan_context = lifespan
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> dict[str, str]:
        return next(messages)

    async def send(message: dict[str, str]) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan", "state": {}}, receive, send)  # type: ignore[arg-type]
    assert events == ["startup", "shutdown"]
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_a_request_the_app_makes_of_itself_gets_its_error_answered() -> None:
    before = _count("GET", "/missing", 404)
    async with _client(_app()) as client:
        response = await client.get("/asks-itself")
    # The inner NotFound is the inner request's 404, not the outer one's.
    assert response.status_code == 200
    assert response.text == "the inner request answered [404]"
    # Counted once, as the outer request.
    assert _count("GET", "/missing", 404) == before
