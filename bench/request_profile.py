"""Where one worker's CPU goes while it serves one kind of request.

Starts a one-worker server of a source tree (this one, or ``--tree`` e.g. a
detached checkout of the baseline), seeds it as ``bench/hotpaths.py`` does
(a viewer following one poster, 20 posts each), then for each request kind
drives it at saturation while py-spy samples the worker, and prints the
top functions by self and inclusive samples over the busy stacks (the event
loop waiting in its selector and aiosqlite's idle helper thread left out).

The load comes from wrk (``apt-get install wrk``), as issue 14 measured,
in a process of its own, 8 connections; without wrk, from a bare asyncio
client in this process. With ``hello`` among the kinds, each kind's
requests/s and CPU per request are also given as a share of the Starlette
hello's, measured in the same run. Two hellos: ``hello`` on plain gunicorn
and uvicorn (``bench.hello_app``, the ceiling of issue 14's table) and
``hello-stack`` on gramstack's own server stack (``gramstack.benchmark.hello``:
the same ``PreforkServer``, protocol and one-write responses as gramstack).

Run: ``.venv/bin/python -m bench.request_profile --seconds 10 hello media users``
(kinds: ``feed``, ``media``, ``media-anon``, ``users``, ``healthz``, ``hello``,
``hello-stack``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.api_throughput import API, BENCH_ENV, _auth, _process_tree_cpu_s, _seed  # noqa: E402
from bench.hotpaths import _start_hello  # noqa: E402
from bench.profile_top import _short  # noqa: E402
from bench.speedups_profile import _record, _worker_pid, busy_stacks  # noqa: E402
from gramstack.benchmark.servers import start_hello  # noqa: E402
from tests.support.server import start_server  # noqa: E402

KINDS = ["feed", "media", "media-anon", "users", "healthz", "hello", "hello-stack"]


def _targets(token: str, media_id: str) -> dict[str, tuple[str, dict[str, str]]]:
    return {
        "feed": (f"{API}/feed", _auth(token)),
        "media": (f"{API}/media/{media_id}", _auth(token)),
        "media-anon": (f"{API}/media/{media_id}", {}),
        "users": (f"{API}/users/poster", _auth(token)),
        "healthz": ("/healthz", {}),
        "hello": ("/hello", {}),
        "hello-stack": ("/hello", {}),
    }


async def _drive(base_url: str, path: str, headers: dict[str, str], seconds: float) -> int:
    """Keep-alive GETs on 8 connections for ``seconds``: a bare asyncio
    client, so that the load process (not the server) is not the bottleneck
    on a small machine, as httpx's per-request cost would make it."""
    host, _, port = base_url.removeprefix("http://").partition(":")
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()
    done = 0
    stop = time.monotonic() + seconds

    async def connection() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.monotonic() < stop:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(f"GET {path}: {head[:40]!r}")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                done += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(8)))
    return done


def _drive_wrk(base_url: str, path: str, headers: dict[str, str], seconds: float) -> int:
    """The same load from wrk: one thread, 8 keep-alive connections."""
    command = ["wrk", "-t1", "-c8", f"-d{max(1, round(seconds))}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*command, base_url + path], capture_output=True, text=True, check=True
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"GET {path}: wrk saw failures:\n{out}")
    found = re.search(r"(\d+) requests in", out)
    if found is None:
        raise RuntimeError(f"wrk printed no request count:\n{out}")
    return int(found.group(1))


def _top(raw: str) -> tuple[int, Counter[str], Counter[str]]:
    busy = 0
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for frames, count in busy_stacks(raw):
        busy += count
        short = [_short(f) for f in frames if f.strip()]
        if not short:
            continue
        own[short[-1]] += count
        for frame in set(short):
            total[frame] += count
    return busy, own, total


def _print_shares(measured: dict[str, tuple[float, float]], rounds: int) -> None:
    """Each kind as a share of the Starlette hello: its requests/s over the
    hello's (what the issue's table gives), and the hello's CPU per request
    over its own (the same figure, steadier when the box is shared)."""
    hello_rate, hello_cpu = measured["hello"]
    print(f"\nShares of the Starlette hello (`hello`), medians of {rounds} round(s) in this run:\n")
    print("| request | requests/s | CPU µs/request | share by requests/s | share by CPU |")
    print("|---|---:|---:|---:|---:|")
    for kind, (rate, cpu_us) in measured.items():
        print(
            f"| {kind} | {rate:,.0f} | {cpu_us:.0f} | {rate / hello_rate:.2f}"
            f" | {hello_cpu / cpu_us:.2f} |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kinds", nargs="+", choices=KINDS)
    parser.add_argument("--tree", type=Path, default=ROOT, help="source tree to serve")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="with --no-profile: measure every kind this many times, interleaved,"
        " and give each kind's median (this box's speed drifts by tens of percent)",
    )
    parser.add_argument("--no-profile", action="store_true", help="CPU per request only")
    parser.add_argument(
        "--client",
        choices=["wrk", "asyncio"],
        default="wrk" if shutil.which("wrk") else "asyncio",
        help="the load generator (default: wrk when installed)",
    )
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    tree = args.tree.resolve()
    with tempfile.TemporaryDirectory(prefix="gramstack-reqprof-") as tmp:
        os.chdir(tmp)  # see bench/hotpaths.py: the tree must come from PYTHONPATH
        server = start_server(
            Path(tmp) / "server",
            env={**BENCH_ENV, "PYTHONPATH": str(tree)},
            workers=1,
        )
        hello = None
        stack_hello = None
        try:
            token, media_id = _seed(server.base_url)
            targets = _targets(token, media_id)
            hello, hello_url = _start_hello(Path(tmp) / "hello")
            stack_hello = start_hello(1, Path(tmp) / "hello-stack.log")

            def drive(base_url: str, path: str, headers: dict[str, str], seconds: float) -> int:
                if args.client == "wrk":
                    return _drive_wrk(base_url, path, headers, seconds)
                return asyncio.run(_drive(base_url, path, headers, seconds))

            # kind -> (requests/s, µs CPU each) of every round
            rounds: dict[str, list[tuple[float, float]]] = {}
            plan = args.kinds * (args.rounds if args.no_profile else 1)
            for kind in plan:
                path, headers = targets[kind]
                base_url, master = {
                    "hello": (hello_url, hello.pid),
                    "hello-stack": (stack_hello.base_url, stack_hello.process.pid),
                }.get(kind, (server.base_url, server.process.pid))
                worker = _worker_pid(master)
                drive(base_url, path, headers, 1.0)  # warm
                raw_path = args.out / f"request-profile-{tree.name}-{kind}.txt"
                if not args.no_profile:
                    recorder = _record(worker, args.seconds, raw_path)
                cpu_before = _process_tree_cpu_s(master)
                started = time.monotonic()
                done = drive(base_url, path, headers, args.seconds)
                elapsed = time.monotonic() - started
                cpu_us = (_process_tree_cpu_s(master) - cpu_before) * 1e6 / max(done, 1)
                rounds.setdefault(kind, []).append((done / elapsed, cpu_us))
                print(
                    f"\n## {kind}: {path} ({tree.name}, {args.client}), {done} requests,"
                    f" {done / elapsed:.0f}/s, {cpu_us:.0f} µs CPU each"
                )
                if args.no_profile:
                    continue
                recorder.wait(timeout=args.seconds + 30)
                busy, own, total = _top(raw_path.read_text() if raw_path.exists() else "")
                print(f"{busy} busy samples (py-spy on, so CPU per request includes its cost)\n")
                for title, counts in (("self", own), ("inclusive", total)):
                    print(f"| function ({title}) | samples | share |\n|---|---:|---:|")
                    for name, count in counts.most_common(args.top):
                        print(f"| `{name}` | {count} | {count / max(busy, 1):.1%} |")
                    print()
            measured = {
                kind: (
                    statistics.median(rate for rate, _ in runs),
                    statistics.median(cpu for _, cpu in runs),
                )
                for kind, runs in rounds.items()
            }
            if "hello" in measured:
                _print_shares(measured, len(plan) // len(args.kinds))
        finally:
            server.stop()
            if hello is not None:
                hello.terminate()
                hello.wait(timeout=10)
            if stack_hello is not None:
                stack_hello.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
