"""HTTP/1.1 with a bound on the request head (request line plus headers),
and each response's head and body sent in one write.

uvicorn's httptools protocol has no such bound, and httptools itself buffers
a header value until it ends, so a client could make a worker hold a
header of any size. Here the parser is fed at most the bytes left under
the bound until the head is complete; a head past it is answered 431 in the
api.md error shape and the connection is closed.

uvicorn writes a response's status line and headers as soon as the app
sends them, then the body in a second write: two system calls and two TCP
segments per response, the second costing about a tenth of a cached read's
CPU on loopback. ``HeadHoldingTransport`` keeps the head until the body's
first bytes and writes both at once; a response that ends without a body
write (HEAD) sends its head when it completes, one that fails or is cut
off sends it before the connection closes. (A stream's head waits for its
first chunk: gramstack streams only static files, read in a thread.)
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_INTERIM = b"HTTP/1.1 1"  # 100 Continue: never held


class HeadHoldingTransport:
    """The transport as a request/response cycle sees it: the first write
    of a response (its head) is held and goes out with the next write, at
    the response's completion or at a close."""

    __slots__ = ("_head", "_head_written", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head: bytes | None = None
        self._head_written = False

    def write(self, data: bytes) -> None:
        if self._head is not None:
            data, self._head = self._head + data, None
        elif not self._head_written and not data.startswith(_INTERIM):
            self._head, self._head_written = data, True
            return
        self._transport.write(data)

    def flush(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            if not self._transport.is_closing():
                self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class BoundedHeadProtocol(HttpToolsProtocol):
    max_head_bytes = 64 * 1024  # replaced per server by ``bounded_head_protocol``

    _head_bytes = 0
    _head_done = False
    _rejected = False

    def data_received(self, data: bytes) -> None:
        if not self._head_done and len(data) <= self.max_head_bytes - self._head_bytes:
            # The usual case, a whole request in one read under the bound:
            # fed as it is. (Body bytes after the head count against the
            # allowance too, harmlessly: it is reset once the message ends.)
            if self._rejected:
                return
            self._head_bytes += len(data)
            super().data_received(data)
            return
        while data and not self._head_done:
            if self._rejected:
                return
            room = self.max_head_bytes - self._head_bytes
            if room <= 0:
                self._reject()
                return
            piece, data = data[:room], data[room:]
            self._head_bytes += len(piece)
            super().data_received(piece)
        if data and not self._rejected:
            super().data_received(data)

    def on_headers_complete(self) -> None:
        self._head_done = True
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is None or cycle.transport is not self.transport:
            return  # an upgrade, or not a cycle of ours to speed up
        # One per response: a pipelined request's cycle is made while the
        # previous one runs, but writes only once that one has completed.
        holding = HeadHoldingTransport(self.transport)
        cycle.transport = holding  # type: ignore[assignment]
        completed = cycle.on_response

        def on_response() -> None:
            # A response that wrote no body (HEAD, 204) still holds its head.
            holding.flush()
            completed()

        cycle.on_response = on_response

    def on_message_complete(self) -> None:
        # The next request on this connection gets a fresh allowance.
        self._head_done = False
        self._head_bytes = 0
        super().on_message_complete()

    def _reject(self) -> None:
        self._rejected = True
        body = json.dumps(
            {
                "error": {
                    "code": "headers_too_large",
                    "message": f"request headers exceed {self.max_head_bytes} bytes",
                }
            }
        ).encode()
        head = (
            "HTTP/1.1 431 Request Header Fields Too Large\r\n"
            "content-type: application/json\r\n"
            f"content-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        ).encode("latin-1")
        self.logger.warning("request head over %s bytes: answered 431", self.max_head_bytes)
        self.transport.write(head + body)
        self.transport.close()


def bounded_head_protocol(max_head_bytes: int) -> type[BoundedHeadProtocol]:
    return type("BoundedHeadProtocol", (BoundedHeadProtocol,), {"max_head_bytes": max_head_bytes})
