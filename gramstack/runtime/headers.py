"""HTTP/1.1 with a bound on the request head (request line plus headers).

uvicorn's httptools protocol has no such bound, and httptools itself buffers
a header value until it ends, so a client could make a worker hold a
header of any size. Here the parser is fed at most the bytes left under
the bound until the head is complete; a head past it is answered 431 in the
api.md error shape and the connection is closed.
"""

from __future__ import annotations

import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class BoundedHeadProtocol(HttpToolsProtocol):
    max_head_bytes = 64 * 1024  # replaced per server by ``bounded_head_protocol``

    _head_bytes = 0
    _head_done = False
    _rejected = False

    def data_received(self, data: bytes) -> None:
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
