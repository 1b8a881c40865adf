"""The ceiling of ``bench.hotpaths``: a bare Starlette hello-world, served
by gunicorn with uvicorn's worker like gramstack is."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


app = Starlette(routes=[Route("/hello", hello)])
