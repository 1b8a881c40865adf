"""CPU per request of gramstack's ASGI app alone: no server, no sockets.

Seeds a data directory through a real one-worker server (as
``bench/request_profile.py`` does: a viewer following one poster, 20 posts
each), stops it, then builds the app of a source tree in this process on
that directory, runs its lifespan, and calls it directly with one request's
scope, over and over, timing the process's CPU. What it measures is what
gramstack adds on top of uvicorn and the kernel, with far less noise than
a load test on a shared machine; run it under py-spy to see where that
goes:

    .venv/bin/python -m bench.app_cpu media users feed
    .venv/bin/python -m bench.app_cpu --tree /tmp/before media users feed
    .venv/bin/py-spy record -r 500 -f raw -o app.raw -- .venv/bin/python -m bench.app_cpu feed
    .venv/bin/python bench/profile_top.py app.raw --within home_feed
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _tree_first(argv: list[str] | None) -> Path:
    """The tree to import, read before anything of gramstack is."""
    args = sys.argv[1:] if argv is None else argv
    if "--tree" in args:
        return Path(args[args.index("--tree") + 1]).resolve()
    return Path(__file__).resolve().parents[1]


KINDS = ("healthz", "media", "media-anon", "users", "feed")


async def _time(
    app: Any, path: str, headers: list[tuple[bytes, bytes]], requests: int
) -> tuple[float, int]:
    """(CPU seconds for ``requests`` GETs of ``path`` after 2,000 warm ones,
    the response body's size)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    def scope() -> dict[str, Any]:
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), *headers],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }

    for _ in range(2_000):
        sent.clear()
        await app(scope(), receive, send)
    if sent[0]["status"] != 200:
        raise RuntimeError(f"GET {path}: {sent}")
    started = time.process_time()
    for _ in range(requests):
        sent.clear()
        await app(scope(), receive, send)
    used = time.process_time() - started
    return used, sum(len(m.get("body", b"")) for m in sent)


def main(argv: list[str] | None = None) -> int:
    tree = _tree_first(argv)
    sys.path.insert(0, str(tree))
    from bench.api_throughput import API, BENCH_ENV, _seed
    from tests.support.server import TEST_ENV, start_server

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kinds", nargs="+", choices=KINDS)
    parser.add_argument("--tree", type=Path, default=tree, help="source tree to import")
    parser.add_argument("--requests", type=int, default=20_000, help="per kind, after 2,000 warm")
    args = parser.parse_args(argv)

    data = Path(tempfile.mkdtemp(prefix="gramstack-app-cpu-")) / "server"
    server = start_server(data, env={**BENCH_ENV, "PYTHONPATH": str(tree)}, workers=1)
    try:
        token, media_id = _seed(server.base_url)
    finally:
        server.stop()
    os.environ.update({**TEST_ENV, **BENCH_ENV})
    from gramstack.api.app import create_app
    from gramstack.runtime.config import load_settings

    app = create_app(load_settings(overrides={"data_dir": str(data)}))
    auth = [(b"authorization", f"Bearer {token}".encode())]
    targets: dict[str, tuple[str, list[tuple[bytes, bytes]]]] = {
        "healthz": ("/healthz", []),
        "media": (f"{API}/media/{media_id}", auth),
        "media-anon": (f"{API}/media/{media_id}", []),
        "users": (f"{API}/users/poster", auth),
        "feed": (f"{API}/feed", auth),
    }

    async def run() -> None:
        async with app.router.lifespan_context(app):
            for kind in args.kinds:
                path, headers = targets[kind]
                used, body = await _time(app, path, headers, args.requests)
                print(
                    f"{kind:10s} {used / args.requests * 1e6:6.1f} µs CPU per request"
                    f" ({body} bytes, {tree.name})",
                    flush=True,
                )

    # The server's event loop: uvloop when installed (``gramstack serve``
    # picks it the same way through uvicorn's ``loop="auto"``).
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = asyncio.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
