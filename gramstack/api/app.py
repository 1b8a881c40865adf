"""The ASGI application: routes, middleware, error handlers, and the
lifespan that opens this process's backends (after the prefork, so every
worker has its own connections)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gramstack.api import auth, errors, schemas
from gramstack.api.bodies import build_decoders
from gramstack.api.endpoints import Endpoint, encode, plain, starlette_routes
from gramstack.api.front import RequestFront
from gramstack.api.metrics import metrics_endpoint
from gramstack.api.openapi import openapi_document
from gramstack.api.readnode import ReadNodeHeaderMiddleware
from gramstack.api.routes import ENDPOINTS
from gramstack.api.routing import IndexedRouter
from gramstack.cache.ports import CacheUnavailable
from gramstack.domain.backends import Backends
from gramstack.domain.errors import DomainError
from gramstack.runtime.config import Settings
from gramstack.runtime.wiring import build_read_mostly, open_backends
from gramstack.storage.ports import BackendUnavailable
from gramstack.web.routes import WebUI

log = logging.getLogger("gramstack.api")

READY_TIMEOUT_S = 2.0


_HEALTHY = schemas.Health(status="ok")


async def healthz(request: Request, _: None) -> schemas.Health:
    return _HEALTHY


async def readyz(request: Request) -> Response:
    b: Backends = request.app.state.backends
    home: str = request.app.state.settings.region
    # Required: what this server's requests cannot be served without, all
    # local to its region. Another region's store is a WAN hop away and is
    # needed only for users placed there: it is shown, never required, so a
    # remote outage does not take every region's servers out of rotation.
    probes = {"database": b.store.readiness.ping(), "cache": b.cache.ping()}
    remote_probes = {}
    for name, region in b.regions.items():
        if name == home:
            probes[f"region:{name}"] = region.ping()
        else:
            remote_probes[name] = region.ping()
    # All at once, and not waiting for a hung probe to unwind: the answer
    # is due within the probe timeout whatever a backend does.
    tasks = {name: asyncio.ensure_future(probe) for name, probe in probes.items()}
    remote_tasks = {name: asyncio.ensure_future(probe) for name, probe in remote_probes.items()}
    await asyncio.wait([*tasks.values(), *remote_tasks.values()], timeout=READY_TIMEOUT_S)
    checks = {name: _probe_state(task) for name, task in tasks.items()}
    remote = {
        name: "ok" if _probe_state(task) == "ok" else "down" for name, task in remote_tasks.items()
    }
    if b.ids is None:
        checks["id_shard"] = "failing: no lease"
    failing = sorted(name for name, state in checks.items() if state != "ok")
    # Followers are shown but never fail readiness: reads skip a degraded one.
    checks.update(b.store.readiness.replica_states())
    if failing:
        body = {
            "error": {"code": "unavailable", "message": f"not ready: {', '.join(failing)}"},
            "checks": checks,
            "remote": remote,
        }
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ok", "checks": checks, "remote": remote})


def _probe_state(task: asyncio.Future[None]) -> str:
    """``ok``, or ``failing: <why>`` (a probe still running is cancelled)."""
    if not task.done() or task.cancelled():
        task.cancel()
        return "failing: TimeoutError"
    if (failure := task.exception()) is not None:
        return f"failing: {type(failure).__name__}"
    return "ok"


async def openapi(request: Request) -> Response:
    return Response(OPENAPI_JSON, media_type="application/json")


OPS_ENDPOINTS: list[Endpoint[Any, Any]] = [
    Endpoint("GET", "/healthz", healthz, "200 while the process lives", schemas.Health),
    Endpoint(
        "GET",
        "/readyz",
        plain(readyz),
        "200 when every backend this server needs in its own region answers; 503 names the"
        " failing one. Other regions' stores are reported under `remote`, never failing it",
        schemas.Readiness,
        errors=(503,),
        error_bodies={503: schemas.NotReady},
    ),
    Endpoint(
        "GET",
        "/metrics",
        plain(metrics_endpoint),
        "Prometheus text format, merged over all worker processes",
        produces="text/plain",
    ),
    Endpoint("GET", "/openapi.json", plain(openapi), "This document", schemas.OpenAPIDocument),
]
# The whole table: every route served and documented comes from it.
ALL_ENDPOINTS = [*OPS_ENDPOINTS, *ENDPOINTS]
OPENAPI_JSON = encode(openapi_document(ALL_ENDPOINTS))


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_backends(settings) as running:
            app.state.backends = running.backends
            log.info("worker serving %s", settings.describe())
            yield
            log.info("worker shutting down")

    build_read_mostly()
    build_decoders(endpoint.body for endpoint in ALL_ENDPOINTS if endpoint.body is not None)
    web = WebUI(auth.SESSION_COOKIE, settings)
    routes = [*starlette_routes(ALL_ENDPOINTS), *web.routes]
    app = Starlette(routes=routes, lifespan=lifespan)
    # The same routes, tried by path prefix (see gramstack.api.routing).
    app.router = IndexedRouter(routes, lifespan=lifespan)
    # Unknown paths: an HTML page for a browser, the JSON error for the rest.
    app.router.default = web.unknown_path(app.router.default)
    app.state.settings = settings
    # Everything between the server and the router in one layer (see
    # gramstack.api.front), instead of Starlette's middleware stack. Built
    # now rather than on the first request: in the prefork master, so that
    # every worker shares it.
    front = RequestFront(
        # The router's own app: ``Router.__call__`` only calls it.
        app.router.middleware_stack,
        deadline_s=settings.request_deadline_s,
        handlers={
            DomainError: errors.domain_error,
            BackendUnavailable: errors.domain_error,
            CacheUnavailable: errors.domain_error,
            HTTPException: errors.http_error,
        },
    )
    # Outside the front, so that its own answers (500, 504) carry it too.
    app.middleware_stack = (
        ReadNodeHeaderMiddleware(front) if settings.expose_backend_header else front
    )
    return app
