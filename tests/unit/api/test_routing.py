"""The indexed router picks, for every path and method, the route
Starlette's scan of the whole table picks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Match, Mount, Route, Router

from gramstack.api.app import ALL_ENDPOINTS
from gramstack.api.endpoints import starlette_routes
from gramstack.api.routing import IndexedRouter
from gramstack.runtime.config import Settings
from gramstack.web.routes import WebUI

ROUTES = [*starlette_routes(ALL_ENDPOINTS), *WebUI("gs_session", Settings()).routes]
ROUTER = IndexedRouter(ROUTES)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def _scope(path: str, method: str) -> dict[str, Any]:
    return {"type": "http", "path": path, "method": method, "root_path": ""}


def _scan(routes: list[BaseRoute], path: str, method: str) -> BaseRoute | None:
    """Starlette's own choice: the first full match in table order."""
    for route in routes:
        if route.matches(_scope(path, method))[0] is Match.FULL:
            return route
    return None


def _indexed(path: str, method: str) -> BaseRoute | None:
    return _scan(ROUTER._candidates(path), path, method)


def _filled(template: str, value: str) -> str:
    parts = template.split("{")
    return parts[0] + "".join(value + part.split("}", 1)[1] for part in parts[1:])


SAMPLE_PATHS = sorted(
    {
        path
        for route in ROUTES
        for template in [getattr(route, "path", "")]
        for path in (
            _filled(template, "123"),
            _filled(template, "bob") + "/",
            _filled(template, "x") + "/extra",
            template + "/a/b.css" if isinstance(route, Mount) else template,
        )
    }
    | {"/", "/nope", "/api", "/api/v1", "/api/v1/", "/api/v1/media/", "//api/v1/media/1"}
)


@pytest.mark.parametrize("path", SAMPLE_PATHS)
def test_every_table_path_gets_starlettes_route(path: str) -> None:
    for method in METHODS:
        assert _indexed(path, method) is _scan(ROUTES, path, method), (method, path)


segment = st.sampled_from(["api", "v1", "media", "users", "me", "u", "p", "static", "1", "bob", ""])


@settings(max_examples=300)
@given(segments=st.lists(segment, max_size=6), method=st.sampled_from(METHODS))
def test_any_path_gets_starlettes_route(segments: list[str], method: str) -> None:
    path = "/" + "/".join(segments)
    assert _indexed(path, method) is _scan(ROUTES, path, method)


async def _named(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.scope["route"].path)


async def test_partial_matches_redirects_and_misses_answer_as_starlette_does() -> None:
    routes: list[BaseRoute] = [
        Route("/a/b/c/{id}", _named, methods=["GET"]),
        Route("/a/b/c/{id}", _named, methods=["POST"]),
        Route("/a/b/c/{id}/x", _named, methods=["GET"]),
        Route("/short", _named),
    ]
    app = Starlette(routes=routes)
    app.router = IndexedRouter(routes)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        assert (await client.get("/a/b/c/1")).text == "/a/b/c/{id}"
        assert (await client.post("/a/b/c/1")).status_code == 200
        assert (await client.delete("/a/b/c/1")).status_code == 405  # the partial match
        assert (await client.get("/a/b/c/1/x")).text == "/a/b/c/{id}/x"
        redirected = await client.get("/short/")
        assert (redirected.status_code, redirected.headers["location"]) == (307, "http://t/short")
        assert (await client.get("/a/b/d/1")).status_code == 404
        # A route added after the first request is found too.
        app.router.routes.append(Route("/a/b/d/{id}", _named))
        assert (await client.get("/a/b/d/1")).text == "/a/b/d/{id}"


class _Recorder:
    """A route's app that notes what the router gave it."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope["test.dispatched"] = (scope["route"].path, dict(scope.get("path_params", {})))


def _recording(routes: list[BaseRoute]) -> list[BaseRoute]:
    """The same table, every route's app a recorder."""
    copies: list[BaseRoute] = []
    for route in routes:
        if isinstance(route, Mount):
            copies.append(Mount(route.path, app=_Recorder()))
        else:
            assert isinstance(route, Route)
            copies.append(Route(route.path, _Recorder(), methods=route.methods))
    return copies


RECORDING = _recording(ROUTES)


async def _dispatch(router: Any, path: str, method: str) -> tuple[Any, list[Any]]:
    scope: dict[str, Any] = {
        "type": "http",
        "path": path,
        "method": method,
        "root_path": "",
        "scheme": "http",
        "server": ("t", 80),
        "query_string": b"",
        "headers": [(b"host", b"t")],
    }
    sent: list[Any] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message.get("status"))

    await router.app(scope, None, send)
    return scope.get("test.dispatched"), sent


async def test_the_inline_match_dispatches_as_starlette_does() -> None:
    """Same route, same converted path parameters, same 404/405/redirect."""
    indexed, scanned = IndexedRouter(RECORDING), Router(RECORDING)
    paths = [*SAMPLE_PATHS, "/api/v1/media/notanumber", "/healthz/", "/static/app.css"]
    for path in paths:
        for method in METHODS:
            expected = await _dispatch(scanned, path, method)
            assert await _dispatch(indexed, path, method) == expected, (method, path)
