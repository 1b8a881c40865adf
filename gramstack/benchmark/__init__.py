"""``gramstack bench``: the mixed workload against a running server, with a
hello-world on the same stack as the ceiling.

1. Sign in as seeded users (``gramstack seed``'s password) and collect
   media IDs from their feeds.
2. Start the hello-world app on gramstack's prefork stack with as many
   workers, and load it with the same generator: the ceiling.
3. Load the server with the mix (80 % feed, 10 % media, 8 % like/unlike,
   2 % post) for the same time.
4. Write ``report.json``, ``throughput.png`` and ``latency.png`` to a new
   directory under ``out``; every requests/s figure is also given as a
   share of the ceiling.

The load generator lives in the package (not in ``bench/``) so that the
installed ``gramstack`` command can run it; ``bench/`` keeps the scripts,
the profiling recipe and the results.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from gramstack.benchmark import report as reporting
from gramstack.benchmark.load import API, MIX, OPERATIONS, Samples, Scenario, run_load
from gramstack.benchmark.servers import StartedServer, start_gramstack, start_hello

__all__ = ["BenchOptions", "run_bench"]

_SIGN_IN_ATTEMPTS = 5


@dataclass(frozen=True)
class BenchOptions:
    url: str | None = None  # a running gramstack server
    serve_data_dir: Path | None = None  # or start one on this (seeded) data directory
    seconds: float = 20.0
    warmup_s: float = 2.0
    processes: int = 2
    concurrency: int = 16  # requests in flight per load process
    sessions: int = 8  # seeded users signed in
    user_range: int = 1000  # they are picked among user0 .. user<range - 1>
    password: str = "gramstack-seed"
    workers: int = 1  # of the hello-world server (and of a server started here)
    hello_url: str | None = None  # an already running hello-world server instead
    out: Path = Path("bench/results")
    random_seed: int = 1
    mix: tuple[tuple[int, int], ...] = MIX


class BenchError(Exception):
    pass


def _sign_in(client: httpx.Client, username: str, password: str) -> str | None:
    for _ in range(_SIGN_IN_ATTEMPTS):
        response = client.post(f"{API}/sessions", json={"username": username, "password": password})
        if response.status_code == 201:
            return str(response.json()["token"])
        if response.status_code == 429:
            time.sleep(float(response.headers.get("retry-after", "1")))
            continue
        return None
    return None


def _sessions(options: BenchOptions, base_url: str) -> tuple[list[str], list[str]]:
    """Tokens of signed-in seeded users, and media IDs from their feeds."""
    rng = random.Random(options.random_seed)
    candidates = rng.sample(
        range(options.user_range), min(options.user_range, 4 * options.sessions)
    )
    tokens: list[str] = []
    media: dict[str, None] = {}
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for number in candidates:
            if len(tokens) == options.sessions:
                break
            token = _sign_in(client, f"user{number}", options.password)
            if token is None:
                continue
            feed = client.get(
                f"{API}/feed", params={"limit": 50}, headers={"Authorization": f"Bearer {token}"}
            )
            feed.raise_for_status()
            items = feed.json()["items"]
            if not items:
                continue  # follows no one who posted: no feed to read
            tokens.append(token)
            media.update((item["id"], None) for item in items)
    if not tokens:
        raise BenchError(
            f"could not sign in as any of user0 .. user{options.user_range - 1} with a non-empty"
            " feed; seed the server first (gramstack seed)"
        )
    return tokens, list(media)


def _progress_bar(label: str, total_s: float, enabled: bool) -> tuple[Any, Callable[..., None]]:
    from tqdm import tqdm

    bar = tqdm(total=round(total_s, 1), desc=label, unit="s", disable=not enabled)

    def update(elapsed: float, requests: int) -> None:
        bar.n = round(min(elapsed, total_s), 1)
        bar.set_postfix(requests=requests, refresh=False)
        bar.refresh()

    return bar, update


def _measure(scenario: Scenario, options: BenchOptions, label: str, progress: bool) -> Samples:
    bar, update = _progress_bar(label, scenario.seconds, progress)
    try:
        return run_load(scenario, options.processes, on_progress=update)
    finally:
        bar.close()


def run_bench(options: BenchOptions, *, progress: bool = True) -> Path:
    """Run the benchmark; returns the path of the JSON report."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = options.out / stamp
    out_dir.mkdir(parents=True, exist_ok=True)
    started: list[StartedServer] = []
    try:
        base_url = options.url
        if options.serve_data_dir is not None:
            server = start_gramstack(
                options.serve_data_dir, options.workers, out_dir / "server.log"
            )
            started.append(server)
            base_url = server.base_url
        if base_url is None:
            raise BenchError("give the URL of a running server, or a data directory to serve")
        tokens, media_ids = _sessions(options, base_url)

        total_s = options.warmup_s + options.seconds
        hello_url = options.hello_url
        hello_server = None
        if hello_url is None:
            hello_server = start_hello(options.workers, out_dir / "hello.log")
            started.append(hello_server)
            hello_url = hello_server.base_url
        ceiling_samples = _measure(
            Scenario(
                "hello", hello_url, total_s, options.concurrency, random_seed=options.random_seed
            ),
            options,
            "hello-world",
            progress,
        )
        if hello_server is not None:
            hello_server.stop()
        mixed_samples = _measure(
            Scenario(
                "mixed",
                base_url,
                total_s,
                options.concurrency,
                tokens=tokens,
                media_ids=media_ids,
                random_seed=options.random_seed,
                mix=options.mix,
            ),
            options,
            "mixed",
            progress,
        )
    finally:
        for server in started:
            server.stop()

    document: dict[str, Any] = {
        "started_at": stamp,
        "url": base_url,
        "options": {
            k: str(v) if isinstance(v, Path) else v
            for k, v in asdict(options).items()
            if k != "mix"
        },
        "mix_weights": {OPERATIONS[op]: weight for op, weight in options.mix},
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "signed_in_users": len(tokens),
        "media_ids": len(media_ids),
        "ceiling": reporting.summarize(ceiling_samples, options.warmup_s, options.seconds),
        "mixed": reporting.summarize(mixed_samples, options.warmup_s, options.seconds),
    }
    reporting.add_shares(document)
    series = {
        "hello-world": reporting.timeline(ceiling_samples, options.warmup_s, options.seconds),
        "mixed": reporting.timeline(mixed_samples, options.warmup_s, options.seconds),
    }
    document["timeseries"] = series
    document["plots"] = reporting.write_plots(
        out_dir, series, document["ceiling"]["requests_per_s"]
    )
    path = out_dir / "report.json"
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path
