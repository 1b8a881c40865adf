"""The load generator: processes of asyncio tasks, each a client on its own
keep-alive connection that sends one request after another (closed loop)
until the time is up.

Each process records every request as (end time, latency, operation,
status) in compact arrays and hands them back when it stops; the parent
watches a shared counter for the progress bar.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import multiprocessing
import queue
import random
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.sharedctypes import Synchronized
from typing import Any

import uvloop

from gramstack.benchmark.client import ConnectionLost, HttpConnection, multipart

API = "/api/v1"
HELLO, FEED, MEDIA, LIKE, UNLIKE, POST = range(6)
OPERATIONS = ("hello", "feed", "media", "like", "unlike", "post")
# The mixed workload: what share of requests each operation gets. Likes
# alternate with unlikes, so the 8 % is split between them as it comes.
MIX = ((FEED, 80), (MEDIA, 10), (LIKE, 8), (POST, 2))
_REQUEST_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Scenario:
    """What one load process does: ``hello`` (GET ``hello_path`` only) or
    ``mixed`` (``mix``, by default :data:`MIX`, signed in with ``tokens``)."""

    name: str
    base_url: str
    seconds: float
    concurrency: int
    tokens: Sequence[str] = ()
    media_ids: Sequence[str] = ()
    hello_path: str = "/hello"
    random_seed: int = 1
    mix: Sequence[tuple[int, int]] = MIX


@dataclass
class Samples:
    """Column arrays, one entry per request."""

    ends: array[float] = field(default_factory=lambda: array("d"))  # s since the start
    latencies: array[float] = field(default_factory=lambda: array("d"))  # s
    operations: array[int] = field(default_factory=lambda: array("b"))
    statuses: array[int] = field(default_factory=lambda: array("h"))  # 0: no response

    def add(self, end: float, latency: float, operation: int, status: int) -> None:
        self.ends.append(end)
        self.latencies.append(latency)
        self.operations.append(operation)
        self.statuses.append(status)

    def extend(self, other: Samples) -> None:
        self.ends.extend(other.ends)
        self.latencies.extend(other.latencies)
        self.operations.extend(other.operations)
        self.statuses.extend(other.statuses)


def parse_mix(text: str) -> tuple[tuple[int, int], ...]:
    """``"feed=80,media=20"`` as ((FEED, 80), (MEDIA, 20)); ``like`` covers
    likes and unlikes, as in :data:`MIX`."""
    names = {"feed": FEED, "media": MEDIA, "like": LIKE, "post": POST}
    mix = []
    for item in text.split(","):
        name, _, weight = item.partition("=")
        if name.strip() not in names or not weight.strip().isdigit():
            raise ValueError(f"not an operation=weight pair of {sorted(names)}: {item!r}")
        mix.append((names[name.strip()], int(weight)))
    if not any(weight for _, weight in mix):
        raise ValueError("the mix needs a positive weight")
    return tuple(mix)


def upload_picture() -> bytes:
    """A small JPEG for the post operation: cheap to send, real to process."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 140, 200)).save(out, "JPEG")
    return out.getvalue()


class _Client:
    """One closed-loop user: picks an operation, sends it on its own
    connection, waits for the answer, and again."""

    def __init__(self, scenario: Scenario, rng: random.Random) -> None:
        self.scenario = scenario
        self.http = HttpConnection(scenario.base_url)
        self.rng = rng
        self.upload_type, self.upload = multipart(
            {"caption": "benchmark"}, "file", "bench.jpg", upload_picture()
        )
        self.liked: set[tuple[str, str]] = set()
        ops, weights = zip(*scenario.mix, strict=True)
        self._ops: Sequence[int] = ops
        self._cum = list(itertools.accumulate(weights))

    def pick(self) -> int:
        if self.scenario.name == "hello":
            return HELLO
        return self.rng.choices(self._ops, cum_weights=self._cum)[0]

    async def send(self, operation: int) -> tuple[int, int]:
        """(the operation actually sent, the status)."""
        s, rng, http = self.scenario, self.rng, self.http
        if operation == HELLO:
            return HELLO, (await http.request("GET", s.hello_path))[0]
        token = rng.choice(s.tokens)
        auth = {"Authorization": f"Bearer {token}"}
        if operation == FEED:
            return FEED, (await http.request("GET", f"{API}/feed", auth))[0]
        if operation == POST:
            headers = {**auth, "Content-Type": self.upload_type}
            return POST, (await http.request("POST", f"{API}/media", headers, self.upload))[0]
        if operation == MEDIA:
            media_id = rng.choice(s.media_ids)
            return MEDIA, (await http.request("GET", f"{API}/media/{media_id}", auth))[0]
        # Half the time take back one of this client's own likes, so likes
        # and unlikes come in equal parts.
        if self.liked and rng.random() < 0.5:
            token, media_id = self.liked.pop()
            auth = {"Authorization": f"Bearer {token}"}
            status, _ = await http.request("DELETE", f"{API}/media/{media_id}/like", auth)
            return UNLIKE, status
        media_id = rng.choice(s.media_ids)
        self.liked.add((token, media_id))
        return LIKE, (await http.request("PUT", f"{API}/media/{media_id}/like", auth))[0]


async def _drive(
    scenario: Scenario, worker: int, counter: Synchronized[int] | None, start_at: float
) -> Samples:
    samples = Samples()
    clients = [
        _Client(scenario, random.Random(f"{scenario.random_seed}:{worker}:{n}"))
        for n in range(scenario.concurrency)
    ]
    # Processes start together at an agreed wall-clock time, so their
    # samples share one time axis.
    await asyncio.sleep(max(0.0, start_at - time.time()))
    origin = time.perf_counter() - (time.time() - start_at)
    deadline = origin + scenario.seconds

    async def loop(client: _Client) -> None:
        while (began := time.perf_counter()) < deadline:
            operation = client.pick()
            try:
                operation, status = await asyncio.wait_for(
                    client.send(operation), _REQUEST_TIMEOUT_S
                )
            except (ConnectionLost, TimeoutError):
                status = 0
                client.http.close()
            ended = time.perf_counter()
            samples.add(ended - origin, ended - began, operation, status)
            if counter is not None:
                with counter.get_lock():
                    counter.value += 1
        client.http.close()

    await asyncio.gather(*(loop(c) for c in clients))
    return samples


def _process_main(
    scenario: Scenario,
    worker: int,
    counter: Synchronized[int],
    start_at: float,
    results: multiprocessing.Queue[Any],
) -> None:
    try:
        # uvloop, as the server runs: the generator should cost as little CPU as it can.
        samples = uvloop.run(_drive(scenario, worker, counter, start_at))
        results.put((worker, samples, None))
    except BaseException as exc:
        results.put((worker, Samples(), f"{type(exc).__name__}: {exc}"))
        raise


def run_load(
    scenario: Scenario, processes: int, on_progress: Any = None, start_delay_s: float = 1.0
) -> Samples:
    """Run ``scenario`` in ``processes`` separate processes and merge their
    samples. ``on_progress(elapsed_s, requests_so_far)`` is called a few
    times a second while they run."""
    context = multiprocessing.get_context("spawn")
    counter: Synchronized[int] = context.Value("q", 0)
    results: multiprocessing.Queue[Any] = context.Queue()
    start_at = time.time() + start_delay_s + 0.5 * processes  # time to spawn and import
    workers = [
        context.Process(
            target=_process_main,
            args=(scenario, n, counter, start_at, results),
            name=f"gramstack-load-{n}",
        )
        for n in range(processes)
    ]
    for process in workers:
        process.start()
    merged = Samples()
    errors: list[str] = []
    pending = processes
    try:
        while pending:
            try:
                _, samples, error = results.get(timeout=0.25)
            except queue.Empty:  # still running
                if on_progress is not None:
                    on_progress(max(0.0, time.time() - start_at), counter.value)
                if not any(p.is_alive() for p in workers) and results.empty():
                    raise RuntimeError("a load process died without reporting") from None
                continue
            pending -= 1
            merged.extend(samples)
            if error is not None:
                errors.append(error)
    finally:
        for process in workers:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
    if errors:
        raise RuntimeError("load process failed: " + "; ".join(errors))
    return merged
