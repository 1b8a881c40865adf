"""Which response, if any, an ASGI app has started: the middlewares that
may have to answer in its place (deadline, unexpected errors) or that
label what it answered (metrics) all need to know."""

from __future__ import annotations

from gramstack.types import Message, Scope, Send

# One tracker per request, made by the outermost middleware that asks: the
# ones inside see the same messages pass, so they read it rather than wrap
# ``send`` again (a coroutine call less per message and middleware).
_SCOPE_KEY = "gramstack.response"


class ResponseTracker:
    __slots__ = ("_send", "status")

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


def tracked(scope: Scope, send: Send) -> tuple[ResponseTracker, Send]:
    """This request's tracker, and the ``send`` to pass on: the tracker's
    own if this call made it, else ``send`` unchanged (it leads to the
    tracker an outer middleware made)."""
    found: ResponseTracker | None = scope.get(_SCOPE_KEY)
    if found is not None:
        return found, send
    tracker = scope[_SCOPE_KEY] = ResponseTracker(send)
    return tracker, tracker.send
