"""``X-Gramstack-Read-Node``: which database nodes served a request's reads
(``leader``, ``follower:eu``, comma-separated in first-use order). Test mode
only (``expose_backend_header``): it lets a test prove where a read went."""

from __future__ import annotations

from gramstack.runtime.wiring import read_nodes
from gramstack.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-gramstack-read-node"


class ReadNodeHeaderMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nodes: list[str] = []
        token = read_nodes.set(nodes)

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start" and nodes:
                headers = list(message.get("headers", []))
                headers.append((HEADER, ",".join(nodes).encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_header)
        finally:
            read_nodes.reset(token)
