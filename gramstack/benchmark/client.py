"""A keep-alive HTTP/1.1 client for the timed requests: asyncio streams and
httptools' response parser, nothing else.

Measured on the 2-core benchmark box against the hello-world server: httpx's
AsyncClient spends 1.3 to 2 ms of CPU per request (httpcore alone 0.8 ms),
which is 50 times what the server spends on a hello-world; a load generator
built on it measures itself. This client spends 20 to 30 µs. Setup (sign-in,
collecting IDs) still goes through httpx.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from urllib.parse import urlsplit

import httptools

_READ_SIZE = 65536


class ConnectionLost(Exception):
    pass


class _Response:
    """httptools callbacks: keeps the status and body of one response."""

    def __init__(self) -> None:
        self.body = bytearray()
        self.complete = False

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete = True


class HttpConnection:
    """One connection, one request at a time (a closed-loop client)."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"only http:// URLs are supported, not {base_url!r}")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._host_header = parts.netloc.encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        return self._reader, self._writer

    async def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> tuple[int, bytes]:
        """(status, body). Raises :class:`ConnectionLost` (and drops the
        connection, to be opened again on the next request) on a broken one."""
        lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: " + self._host_header]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}".encode())
        if body or method in ("POST", "PUT"):
            lines.append(b"Content-Length: %d" % len(body))
        message = b"\r\n".join(lines) + b"\r\n\r\n" + body
        try:
            reader, writer = await self._connect()
            writer.write(message)
            response = _Response()
            parser = httptools.HttpResponseParser(response)
            while not response.complete:
                data = await reader.read(_READ_SIZE)
                if not data:
                    raise ConnectionLost("server closed the connection")
                parser.feed_data(data)
            if not parser.should_keep_alive():
                self.close()
            return parser.get_status_code(), bytes(response.body)
        except (OSError, httptools.HttpParserError, ConnectionLost) as exc:
            self.close()
            raise ConnectionLost(str(exc)) from exc

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def multipart(
    fields: Mapping[str, str], file_field: str, filename: str, data: bytes
) -> tuple[str, bytes]:
    """(content type, body) of a multipart/form-data upload, encoded once."""
    boundary = "gramstack-bench-boundary-7d1f"
    parts = []
    for name, value in fields.items():
        disposition = f'Content-Disposition: form-data; name="{name}"'
        parts.append(f"--{boundary}\r\n{disposition}\r\n\r\n{value}\r\n".encode())
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}";'
            f' filename="{filename}"\r\nContent-Type: image/jpeg\r\n\r\n'
        ).encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)
