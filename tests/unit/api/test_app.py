"""In-process checks of the assembled app (the real-server suite is tests/api)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from gramstack.api import bodies
from gramstack.api.app import ALL_ENDPOINTS, create_app
from gramstack.api.front import RequestFront
from gramstack.api.openapi import openapi_document
from gramstack.runtime.config import load_settings
from gramstack.webhooks.sender import tls_context

_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Starlette]:
    settings = load_settings(
        environ={}, overrides={"data_dir": tmp_path, "argon2_memory_kib": 1024}
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as test_client:
        yield test_client


def test_every_api_route_is_documented_with_its_methods(app: Starlette) -> None:
    documented = openapi_document(ALL_ENDPOINTS)["paths"]
    served: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, Mount):
            continue  # the web UI's static files
        assert isinstance(route, Route)
        if route.path.startswith("/api/") or route.path in documented:
            served[route.path] = (route.methods or set()) & _METHODS
    for path, methods in served.items():
        assert path in documented, path
        assert {m.lower() for m in methods} == set(documented[path]), path
    assert {p for p in documented if p.startswith("/api/")} <= set(served)


async def test_readyz_names_the_failing_backend(app: Starlette, client: httpx.AsyncClient) -> None:
    assert (await client.get("/readyz")).json()["status"] == "ok"
    backends = app.state.backends
    region = backends.regions["local"]
    real_ping = region.ping

    async def broken() -> None:
        raise ConnectionError("region store is gone")

    region.ping = broken
    try:
        response = await client.get("/readyz")
    finally:
        region.ping = real_ping
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "unavailable"
    assert "region:local" in body["error"]["message"]
    assert body["checks"]["database"] == "ok"


async def test_unexpected_errors_are_500_without_internals(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    backends = app.state.backends

    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("SELECT secret FROM /var/lib/db")

    backends.store.accounts.user_id_by_username = explode
    response = await client.get("/api/v1/users/somebody")
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "internal_error", "message": "something went wrong on our side"}
    }


def test_what_workers_share_is_built_with_the_app(tmp_path: Path) -> None:
    # create_app runs in the prefork master: what it builds there (the
    # middleware stack, the request body decoders, the webhook client's TLS
    # context) every worker shares.
    tls_context.cache_clear()
    bodies._decoder.cache_clear()
    application = create_app(load_settings(environ={}, overrides={"data_dir": tmp_path}))
    assert isinstance(application.middleware_stack, RequestFront)
    assert tls_context.cache_info().currsize == 1
    kinds = {endpoint.body for endpoint in ALL_ENDPOINTS if endpoint.body is not None}
    assert len(kinds) >= 5
    assert bodies._decoder.cache_info().currsize == len(kinds)
