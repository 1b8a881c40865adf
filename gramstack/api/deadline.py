"""Request deadline: a request still running after the deadline is
cancelled and answered 504, so one slow backend cannot pile up work the
client has already given up on."""

from __future__ import annotations

import asyncio

from gramstack.api.errors import error_response
from gramstack.api.tracking import tracked
from gramstack.types import ASGIApp, Receive, Scope, Send


class DeadlineMiddleware:
    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response, tracked_send = tracked(scope, send)
        deadline = asyncio.timeout(self.seconds)
        try:
            async with deadline:
                await self.app(scope, receive, tracked_send)
        except TimeoutError:
            if not deadline.expired():
                raise
            if response.started:
                # Headers are gone already; all we can do is stop streaming.
                return
            timeout = error_response(
                504, "timeout", f"the request took longer than {self.seconds:g} s"
            )
            await timeout(scope, receive, send)
