"""The endpoint table's row type, and the Starlette routes built from it.

An ``Endpoint`` says everything about one method on one path: its handler,
who may call it, its rate limit, what it reads and answers, and which error
statuses it can return. ``starlette_routes`` turns the table into routes
that authenticate, spend the rate limit and decode the body before the
handler runs and encode what it returns; ``gramstack.api.openapi`` turns the
same table into the served OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gramstack.api import auth
from gramstack.api.bodies import json_body
from gramstack.domain import ratelimits
from gramstack.domain.backends import Backends
from gramstack.runtime.config import Settings
from gramstack.types import Receive, Scope, Send

Auth = Literal["none", "optional", "required"]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
BodyT = TypeVar("BodyT")
ResultT = TypeVar("ResultT")
Handler = Callable[[Request, BodyT], Awaitable[ResultT | Response]]

JSON_TYPE = "application/json"
_ENCODER = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A token bucket per client address, refilled ``per_minute(settings)`` a minute."""

    bucket: str
    per_minute: Callable[[Settings], int]


@dataclass(frozen=True, slots=True)
class Endpoint(Generic[BodyT, ResultT]):
    method: Method
    path: str
    handler: Handler[BodyT, ResultT]
    summary: str
    # What a success answers: a msgspec type encoded as JSON, or None for no
    # body (204) or bytes the handler returns itself (``produces``).
    response: type[ResultT] | None = None
    status: int = 200
    auth: Auth = "none"
    rate_limit: RateLimit | None = None
    # A JSON request body, decoded before the handler runs and passed to it.
    body: type[BodyT] | None = None
    # A multipart/form-data body the handler parses itself; its parts.
    form: type[msgspec.Struct] | None = None
    # Path parameter name -> its type (for the document; handlers parse).
    path_params: Mapping[str, Any] = field(default_factory=dict)
    page: bool = False
    # Query parameter name -> (its type, whether required); checked by the
    # handler (400), stated in the document.
    query_params: Mapping[str, tuple[Any, bool]] = field(default_factory=dict)
    # Error statuses of this endpoint's own logic; the ones implied by auth,
    # a body, a page, a rate limit or a path ID are added by the generator.
    errors: Sequence[int] = ()
    produces: str = JSON_TYPE
    # Answers 304 to a matching ``If-None-Match``.
    conditional: bool = False
    # Error statuses whose body is not the plain ``Error`` shape.
    error_bodies: Mapping[int, Any] = field(default_factory=dict)


def encode(value: object) -> bytes:
    return _ENCODER.encode(value)


def json_response(value: object, status: int = 200) -> Response:
    return Response(_ENCODER.encode(value), status_code=status, media_type=JSON_TYPE)


def backends(request: Request) -> Backends:
    # ``request.app.state.backends``, read from the dict the app's State
    # wraps: State's ``__getattr__`` is a Python call, on every request.
    found: Backends = request.scope["app"].state._state["backends"]
    return found


def settings(request: Request) -> Settings:
    found: Settings = request.app.state.settings
    return found


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


_JSON_CONTENT_TYPE = (b"content-type", JSON_TYPE.encode())


@dataclass(frozen=True, slots=True)
class _Serving:
    """What serving one endpoint needs, unpacked from its row once."""

    handler: Handler[Any, Any]
    status: int
    auth: Auth
    rate_limit: RateLimit | None
    body: type[Any] | None


class _RouteApp:
    """A route's ASGI app: authenticate, spend the rate limit and decode
    the body before the method's handler runs, and answer what it returns.

    Starlette wraps a plain endpoint function in ``request_response``,
    which builds a second ``Request`` and a second layer of exception
    handling around it; gramstack.api.front, outside the router, already
    applies the same handlers, so a route is this ASGI app instead, all in
    one coroutine frame."""

    __slots__ = ("_methods",)

    def __init__(self, methods: Mapping[str, _Serving]) -> None:
        self._methods = methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        serving = self._methods[scope["method"]]
        request = Request(scope, receive, send)
        # Order matters and is api.md's: who is calling (401) before which
        # object the path names (404), the rate limit before the body.
        who = serving.auth
        if who != "none":
            # ``request.state.viewer``, set in the dict that ``request.state``
            # wraps (the scope's): no State object built on every request.
            viewer = await auth.viewer(request, backends(request), required=who == "required")
            scope.setdefault("state", {})["viewer"] = viewer
        limit = serving.rate_limit
        if limit is not None:
            await ratelimits.spend(
                backends(request),
                f"{limit.bucket}:{_client(request)}",
                limit.per_minute(settings(request)),
            )
        body = None
        if serving.body is not None:
            body = await json_body(request, settings(request).max_json_bytes, serving.body)
        result = await serving.handler(request, body)
        if isinstance(result, Response):
            await result(scope, receive, send)
        elif result is None:
            # As Starlette's ``Response(status_code=204)``: no headers at all.
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        else:
            # What ``Response(encoded, status, media_type=JSON_TYPE)`` sends,
            # without building one.
            encoded = _ENCODER.encode(result)
            headers = [(b"content-length", b"%d" % len(encoded)), _JSON_CONTENT_TYPE]
            await send(
                {"type": "http.response.start", "status": serving.status, "headers": headers}
            )
            await send({"type": "http.response.body", "body": encoded})


def starlette_routes(endpoints: Sequence[Endpoint[Any, Any]]) -> list[Route]:
    """One route per path (so a 405 lists every method the path serves)."""
    by_path: dict[str, dict[str, _Serving]] = {}
    for endpoint in endpoints:
        methods = by_path.setdefault(endpoint.path, {})
        assert endpoint.method not in methods, f"{endpoint.method} {endpoint.path} declared twice"
        methods[endpoint.method] = _Serving(
            endpoint.handler, endpoint.status, endpoint.auth, endpoint.rate_limit, endpoint.body
        )
    routes = []
    for path, methods in by_path.items():
        if "GET" in methods:
            methods = {**methods, "HEAD": methods["GET"]}
        routes.append(Route(path, _RouteApp(methods), methods=[m for m in methods if m != "HEAD"]))
    return routes


def plain(endpoint: Callable[[Request], Awaitable[Response]]) -> Handler[None, Response]:
    """A Starlette endpoint as a table handler (for the operational routes)."""

    async def handler(request: Request, _: None) -> Response:
        return await endpoint(request)

    return handler
