"""Command line: ``gramstack serve | worker | invalidator | migrate | dev-cluster | seed |
bench``."""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from gramstack.runtime.config import ConfigError, Settings, load_settings
from gramstack.runtime.logging import configure_logging


def _serve(settings: Settings) -> int:
    # Python's recipe for fork without exec: no collections in the master
    # until its heap is frozen, so the pages the workers share have no freed
    # holes for their own allocations to fill (each fill copies a page).
    gc.disable()
    from gramstack.runtime.prefork import prepare_data_dir, prepare_metrics_dir
    from gramstack.runtime.process_metrics import use_multiprocess_metrics

    prepare_data_dir(settings)
    settings = settings.with_metrics_dir()
    assert settings.metrics_dir is not None
    prepare_metrics_dir(settings.metrics_dir)
    # Each metric takes the value class in force when it is built, so this
    # must come before the app (and its metrics) load.
    use_multiprocess_metrics(settings.metrics_dir)

    from gramstack.api.app import create_app
    from gramstack.runtime.prefork import PreforkServer

    PreforkServer(create_app(settings), settings).run()
    return 0


def _migrate(settings: Settings) -> int:
    import asyncio

    from gramstack.runtime.prefork import prepare_data_dir
    from gramstack.runtime.wiring import migrate_primary

    prepare_data_dir(settings)
    applied = asyncio.run(migrate_primary(settings))
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
    return 0


def _dev_cluster(args: argparse.Namespace) -> int:
    from gramstack.runtime import devcluster

    try:
        if args.action == "down":
            devcluster.down(args.dir)
            print(f"dev cluster in {args.dir} stopped")
            return 0
        if args.regions is not None and args.followers is not None:
            raise devcluster.pg.DevClusterError(
                "--regions starts one follower per region; leave out --followers"
            )
        regions = None if args.regions is None else devcluster.parse_regions(args.regions)
        state = devcluster.up(
            args.dir,
            followers=1 if args.followers is None else args.followers,
            regions=regions,
        )
    except devcluster.pg.DevClusterError as exc:
        print(f"gramstack: dev-cluster: {exc}", file=sys.stderr)
        return 1
    shape = f"regions {','.join(state.regions)}" if state.regions else "leader and followers"
    print(f"# dev cluster up ({shape})")
    print(f"# stop it with: gramstack dev-cluster down --dir {state.directory}")
    for line in devcluster.export_lines(state):
        print(line)
    return 0


def _invalidator(settings: Settings) -> int:
    import asyncio
    import signal

    # Until the event loop takes SIGTERM over, it means a plain clean exit.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    from gramstack.runtime.invalidator import serve_invalidator

    try:
        asyncio.run(serve_invalidator(settings))
    except ConfigError as exc:
        print(f"gramstack: configuration error: {exc}", file=sys.stderr)
        return 2
    return 0


def _seed(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from gramstack.seed import PASSWORD, SeedError, SeedPlan, seed

    plan = SeedPlan(
        users=args.users,
        posts=args.posts,
        likes=args.likes,
        comments=args.comments,
        follows_per_user=args.follows_per_user,
        timeline_depth=args.timeline_depth,
        random_seed=args.random_seed,
    )
    try:
        report = asyncio.run(seed(settings, plan, progress=not args.quiet, images=args.images))
    except SeedError as exc:
        print(f"gramstack: seed: {exc}", file=sys.stderr)
        return 1
    rows = ", ".join(f"{table} {count:,}" for table, count in report.rows.items())
    print(
        f"seeded {report.total_rows:,} rows ({rows}) and {report.image_files:,} image files"
        f" in {report.seconds:.1f} s: {report.rows_per_s:,.0f} rows/s"
        f" (generating {report.generate_s:.1f} s, writing {report.write_s:.1f} s)"
    )
    print(f"sign in as user0 .. user{plan.users - 1} with the password {PASSWORD!r}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    import json
    import logging

    # One line per sign-in request would bury the progress bars.
    logging.getLogger("httpx").setLevel(logging.WARNING)

    from gramstack.benchmark import BenchError, BenchOptions, run_bench
    from gramstack.benchmark.load import MIX, parse_mix

    try:
        mix = parse_mix(args.mix) if args.mix else MIX
    except ValueError as exc:
        print(f"gramstack: bench: --mix: {exc}", file=sys.stderr)
        return 2
    options = BenchOptions(
        url=args.url,
        serve_data_dir=args.serve,
        seconds=args.seconds,
        warmup_s=args.warmup,
        processes=args.processes,
        concurrency=args.concurrency,
        sessions=args.sessions,
        user_range=args.user_range,
        workers=args.workers or 1,
        out=args.out,
        mix=mix,
    )
    try:
        path = run_bench(options, progress=not args.quiet)
    except BenchError as exc:
        print(f"gramstack: bench: {exc}", file=sys.stderr)
        return 1
    report = json.loads(path.read_text("utf-8"))
    ceiling, mixed = report["ceiling"], report["mixed"]
    print(f"hello-world ceiling: {ceiling['requests_per_s']:,.0f} requests/s")
    print(
        f"mixed: {mixed['requests_per_s']:,.0f} requests/s"
        f" = {mixed['share_of_ceiling']:.3f} of the ceiling, {mixed['errors']} errors"
    )
    for name, op in mixed["operations"].items():
        latency = op["latency_ms"]
        print(
            f"  {name:7} {op['requests_per_s']:9,.1f}/s  share {op['share_of_ceiling']:.4f}"
            f"  p50 {latency['p50']:.1f} ms  p90 {latency['p90']:.1f} ms"
            f"  p99 {latency['p99']:.1f} ms  errors {op['errors']}"
        )
    print(f"report: {path} (plots beside it)")
    return 0


def _worker(settings: Settings) -> int:
    import asyncio
    import signal

    from gramstack.runtime.prefork import prepare_data_dir

    # Until the event loop takes SIGTERM over, it means a plain clean exit.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    from gramstack.runtime.worker import serve_worker

    prepare_data_dir(settings)
    asyncio.run(serve_worker(settings))
    return 0


def _placement(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from gramstack.runtime.placement_ops import PlacementError, run_placement_command

    try:
        for line in asyncio.run(
            run_placement_command(settings, args.action, args.user, args.region)
        ):
            print(line)
    except PlacementError as exc:
        print(f"gramstack: placement: {exc}", file=sys.stderr)
        return 1
    return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gramstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP server (prefork workers)")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 8000)")
    serve.add_argument("--data-dir", type=Path, help="directory for SQLite files and images")
    serve.add_argument(
        "--workers", type=int, help="number of worker processes (default: one per core)"
    )
    migrate = commands.add_parser("migrate", help="create or upgrade the database schema")
    migrate.add_argument("--data-dir", type=Path, help="directory for SQLite files")
    seed = commands.add_parser(
        "seed",
        help="fill a fresh database with a power-law social graph (password 'gramstack-seed')",
    )
    seed.add_argument("--data-dir", type=Path, help="directory for SQLite files and images")
    seed.add_argument("--users", type=int, default=10_000, help="accounts (default 10,000)")
    seed.add_argument("--posts", type=int, default=100_000, help="media posts (default 100,000)")
    seed.add_argument("--likes", type=int, default=100_000, help="likes (default 100,000)")
    seed.add_argument("--comments", type=int, default=100_000, help="comments (default 100,000)")
    seed.add_argument(
        "--follows-per-user", type=int, default=30, help="mean accounts each user follows"
    )
    seed.add_argument(
        "--timeline-depth", type=int, default=100, help="newest posts kept per home timeline"
    )
    seed.add_argument("--random-seed", type=int, default=1, help="same seed, same graph")
    seed.add_argument(
        "--no-images",
        dest="images",
        action="store_false",
        help="no image files (faster at millions of posts; image URLs answer 404)",
    )
    seed.add_argument("--quiet", action="store_true", help="no progress bars")
    bench = commands.add_parser(
        "bench",
        help="load a running server with the mixed workload; report as shares of a hello-world",
    )
    target = bench.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="base URL of a running, seeded server")
    target.add_argument("--serve", type=Path, help="start a server on this seeded data directory")
    bench.add_argument("--seconds", type=float, default=20.0, help="measured time per run")
    bench.add_argument("--warmup", type=float, default=2.0, help="unmeasured time before it")
    bench.add_argument("--processes", type=int, default=2, help="load generator processes")
    bench.add_argument(
        "--concurrency", type=int, default=16, help="requests in flight per load process"
    )
    bench.add_argument("--sessions", type=int, default=8, help="seeded users to sign in as")
    bench.add_argument(
        "--user-range", type=int, default=1000, help="pick them among user0 .. user<N-1>"
    )
    bench.add_argument(
        "--workers", type=int, help="workers of the hello-world (and a --serve server)"
    )
    bench.add_argument(
        "--mix",
        help="operation weights (default feed=80,media=10,like=8,post=2; like toggles unlike)",
    )
    bench.add_argument("--out", type=Path, default=Path("bench/results"), help="report folder")
    bench.add_argument("--quiet", action="store_true", help="no progress bars")
    worker = commands.add_parser(
        "worker", help="run the job queue (fan-out, inbox items) in a process of its own"
    )
    worker.add_argument("--data-dir", type=Path, help="directory for SQLite files")
    commands.add_parser(
        "invalidator",
        help="tail PostgreSQL's logical replication slot and evict changed keys from memcached",
    )

    cluster = commands.add_parser(
        "dev-cluster",
        help="start or stop local PostgreSQL leader and followers (and, per region,"
        " regional clusters and memcached)",
    )
    cluster.add_argument("action", choices=["up", "down"])
    cluster.add_argument("--followers", type=int, help="followers to start (default 1)")
    cluster.add_argument(
        "--regions",
        help="start the multi-region topology for these regions, e.g. us,eu,ap: per region a"
        " follower of the global leader, a regional PostgreSQL leader and follower, a memcached",
    )
    cluster.add_argument(
        "--dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "gramstack-dev-cluster",
        help="directory for the servers' data, logs and cluster.json",
    )
    placement = commands.add_parser(
        "placement",
        help="where users' feeds and inboxes live: show a user, move one, or run the policy",
    )
    placement.add_argument("action", choices=["show", "move", "evaluate"])
    placement.add_argument("user", nargs="?", help="username or numeric user ID (show, move)")
    placement.add_argument("region", nargs="?", help="destination region (move)")
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
    if args.command == "worker":
        return _worker(settings)
    if args.command == "invalidator":
        return _invalidator(settings)
    if args.command == "migrate":
        return _migrate(settings)
    if args.command == "dev-cluster":
        return _dev_cluster(args)
    if args.command == "seed":
        return _seed(settings, args)
    if args.command == "bench":
        return _bench(args)
    if args.command == "placement":
        return _placement(args, settings)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
