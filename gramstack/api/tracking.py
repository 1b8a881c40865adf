"""Which response, if any, an ASGI app has started: the middlewares that
may have to answer in its place (deadline, unexpected errors) or that
label what it answered (metrics) all need to know."""

from __future__ import annotations

from gramstack.types import Message, Send


class ResponseTracker:
    def __init__(self, send: Send) -> None:
        self._send = send
        self.status: int | None = None

    @property
    def started(self) -> bool:
        return self.status is not None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        await self._send(message)
