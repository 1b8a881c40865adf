"""The ceiling: a bare Starlette hello-world on gramstack's own server stack
(the same ``PreforkServer``: gunicorn master, uvicorn workers, preload and
``gc.freeze()``), so that the benchmark can state every figure as a share
of what the stack itself can serve.

Run: ``python -m gramstack.benchmark.hello --port 8001 --workers 1``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

HELLO_PATH = "/hello"


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello, world")


def hello_app() -> Starlette:
    return Starlette(routes=[Route(HELLO_PATH, hello), Route("/healthz", hello)])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="gramstack-hello-"))
    # The prefork master tidies prometheus files when a worker exits.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(scratch)

    from gramstack.runtime.config import Settings
    from gramstack.runtime.prefork import PreforkServer

    settings = dataclasses.replace(
        Settings(), host=args.host, port=args.port, workers=args.workers, data_dir=scratch
    )
    PreforkServer(hello_app(), settings).run()


if __name__ == "__main__":
    main()
