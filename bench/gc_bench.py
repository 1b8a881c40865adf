"""Collector settings of a worker, on a synthetic request: CPU per request
with the default thresholds vs the workers' (gramstack.runtime.prefork),
with a warm heap left to the collector vs frozen after warm-up.

A "request" builds and encodes a 20-item page of nested dicts (about 100
containers); the warm heap is 150,000 small tracked objects, about what a
worker holds after warm-up. Run: ``.venv/bin/python -m bench.gc_bench``.
"""

from __future__ import annotations

import gc
import json
import time

from gramstack.runtime.prefork import WORKER_GC_THRESHOLDS

DEFAULT_THRESHOLDS = (700, 10, 10)


def _request() -> str:
    items = [
        {
            "id": n,
            "owner": {"id": n, "username": f"u{n}"},
            "images": [{"url": "https://example.invalid/p.jpg", "width": 1080}],
            "caption": "c" * 40,
        }
        for n in range(20)
    ]
    return json.dumps({"items": items})


def _cpu_us(thresholds: tuple[int, int, int], frozen: bool, requests: int = 20_000) -> float:
    gc.set_threshold(*thresholds)
    gc.collect()
    if frozen:
        gc.freeze()
    started = time.process_time()
    for _ in range(requests):
        _request()
    elapsed = time.process_time() - started
    gc.unfreeze()
    return elapsed / requests * 1e6


def main() -> None:
    heap = [{"id": n, "tags": [str(n)]} for n in range(150_000)]
    results = {}
    for thresholds in (DEFAULT_THRESHOLDS, WORKER_GC_THRESHOLDS):
        for frozen in (False, True):
            # Best of three: other load on the machine only ever adds.
            results[thresholds, frozen] = min(_cpu_us(thresholds, frozen) for _ in range(3))
            state = "frozen" if frozen else "collected"
            print(f"thresholds {thresholds!s:<18} warm heap {state:<9} ", end="")
            print(f"{results[thresholds, frozen]:6.1f} us/request")
    base = results[DEFAULT_THRESHOLDS, False]
    tuned = results[WORKER_GC_THRESHOLDS, True]
    print(f"workers' settings / defaults: {tuned:.1f} / {base:.1f} = {tuned / base:.2f}")
    del heap


if __name__ == "__main__":
    main()
