"""A response's head and body leave in one write; a head with no body
(HEAD) leaves when the response completes, one whose response fails leaves
before the connection closes; 100 Continue is never held. (The API suite
serves every request through the same protocol on real sockets.)"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from gramstack.runtime.headers import bounded_head_protocol
from gramstack.types import Receive, Scope, Send


class _RecordingTransport(asyncio.Transport):
    """Stands in for the socket: records each write (each a send())."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 5000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _serve(app: Any, request: bytes, settle: float = 0.05) -> list[bytes]:
    config = Config(app=app, lifespan="off", log_level="warning")
    protocol = bounded_head_protocol(1 << 16)(config, ServerState(), {})
    transport = _RecordingTransport()
    protocol.connection_made(transport)
    protocol.data_received(request)
    await asyncio.sleep(settle)
    protocol.connection_lost(None)
    return transport.writes


async def _json(scope: Scope, receive: Receive, send: Send) -> None:
    body = b'{"ok":true}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"11")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if scope["method"] != "HEAD":
        await send({"type": "http.response.body", "body": body})
    else:
        await send({"type": "http.response.body", "body": b""})


async def test_head_and_body_go_out_in_one_write() -> None:
    writes = await _serve(_json, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    assert len(writes) == 1
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert writes[0].endswith(b'\r\n\r\n{"ok":true}')


async def test_pipelined_requests_get_one_write_each_in_order() -> None:
    writes = await _serve(
        _json, b"GET /a HTTP/1.1\r\nHost: t\r\n\r\nHEAD /b HTTP/1.1\r\nHost: t\r\n\r\n"
    )
    assert len(writes) == 2
    assert writes[0].endswith(b'{"ok":true}')
    assert writes[1].startswith(b"HTTP/1.1 200 OK\r\n") and writes[1].endswith(b"\r\n\r\n")


async def _slow_stream(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await asyncio.sleep(0.2)
    await send({"type": "http.response.body", "body": b"late", "more_body": False})


async def test_a_stream_slow_to_start_sends_its_head_with_the_first_chunk() -> None:
    writes = await _serve(_slow_stream, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n", settle=0.3)
    assert len(writes) == 1
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert writes[0].endswith(b"\r\n\r\n4\r\nlate\r\n0\r\n\r\n")  # chunked


async def _fails_after_the_head(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    raise RuntimeError("bug after the head")


async def test_a_response_that_fails_after_its_head_sends_it_before_closing() -> None:
    config = Config(app=_fails_after_the_head, lifespan="off", log_level="critical")
    protocol = bounded_head_protocol(1 << 16)(config, ServerState(), {})
    transport = _RecordingTransport()
    protocol.connection_made(transport)
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    await asyncio.sleep(0.05)
    assert transport.closed
    assert len(transport.writes) == 1 and transport.writes[0].startswith(b"HTTP/1.1 200 OK")
    protocol.connection_lost(None)


async def _reads_body(scope: Scope, receive: Receive, send: Send) -> None:
    message = await receive()
    body = message.get("body", b"")
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def test_100_continue_goes_out_before_the_body_is_read() -> None:
    config = Config(app=_reads_body, lifespan="off", log_level="warning")
    protocol = bounded_head_protocol(1 << 16)(config, ServerState(), {})
    transport = _RecordingTransport()
    protocol.connection_made(transport)
    protocol.data_received(
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
    )
    await asyncio.sleep(0.05)
    assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    protocol.data_received(b"hi")
    await asyncio.sleep(0.05)
    assert len(transport.writes) == 2
    assert transport.writes[1].startswith(b"HTTP/1.1 200 OK\r\n")
    assert transport.writes[1].endswith(b"\r\n\r\nhi")
    protocol.connection_lost(None)
