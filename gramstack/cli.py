"""Command line: ``gramstack serve | migrate | ...``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from gramstack.runtime.config import ConfigError, Settings, load_settings
from gramstack.runtime.logging import configure_logging


def _serve(settings: Settings) -> int:
    from gramstack.runtime.prefork import prepare_metrics_dir

    prepare_metrics_dir(settings)
    # prometheus_client picks its multiprocess value class when first
    # imported, so this must be set before the app (and its metrics) load.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(settings.metrics_dir)

    from gramstack.api.app import create_app
    from gramstack.runtime.prefork import PreforkServer

    PreforkServer(create_app(settings), settings).run()
    return 0


def _migrate(settings: Settings) -> int:
    import asyncio

    from gramstack.runtime.wiring import migrate_primary

    applied = asyncio.run(migrate_primary(settings))
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
    return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gramstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP server (prefork workers)")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 8000)")
    serve.add_argument("--data-dir", type=Path, help="directory for SQLite files and images")
    serve.add_argument("--workers", type=int, help="number of worker processes (default 1)")
    migrate = commands.add_parser("migrate", help="create or upgrade the database schema")
    migrate.add_argument("--data-dir", type=Path, help="directory for SQLite files")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    overrides = {
        key: value
        for key, value in vars(args).items()
        if key in {"host", "port", "data_dir", "workers"} and value is not None
    }
    try:
        settings = load_settings(overrides=overrides)
    except ConfigError as exc:
        print(f"gramstack: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command == "serve":
        return _serve(settings)
    if args.command == "migrate":
        return _migrate(settings)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
