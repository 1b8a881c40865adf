"""Bounds on what one request can make a worker hold, and on who can read
the server's files."""

from __future__ import annotations

import socket
import stat
from urllib.parse import urlsplit

import httpx

from tests.support.server import ServerProcess

DEFAULT_MAX_HEADER_BYTES = 64 * 1024


def test_headers_past_the_limit_answer_431_in_the_error_shape(http: httpx.Client) -> None:
    response = http.get("/healthz", headers={"X-Padding": "a" * (DEFAULT_MAX_HEADER_BYTES + 10)})
    assert response.status_code == 431
    assert response.json()["error"]["code"] == "headers_too_large"
    # Just under the limit is still served.
    response = http.get("/healthz", headers={"X-Padding": "a" * (DEFAULT_MAX_HEADER_BYTES - 2048)})
    assert response.status_code == 200


def test_an_endless_header_is_cut_off_not_read(server: ServerProcess) -> None:
    address = urlsplit(server.base_url)
    sent = 0
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Endless: ")
        chunk = b"a" * (1 << 20)
        try:
            while sent < 128 * (1 << 20):
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the server closed the connection: what we want
        reply = sock.recv(200)
    assert reply.startswith(b"HTTP/1.1 431 ")
    assert sent < 16 * (1 << 20)
    # The worker is fine and the next request is served.
    assert httpx.get(server.base_url + "/healthz").status_code == 200


def test_data_directory_and_database_files_are_private(server: ServerProcess) -> None:
    assert stat.S_IMODE(server.data_dir.stat().st_mode) == 0o700
    # (metrics/*.db are prometheus_client's files, inside the private directory)
    metrics = server.data_dir / "metrics"
    databases = [
        p for p in server.data_dir.rglob("*.db*") if p.is_file() and metrics not in p.parents
    ]
    assert databases  # the regional store is SQLite on every backend
    for path in databases:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
