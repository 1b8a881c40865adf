"""Each compiled speedup against its pure-Python twin, as ratios from one run.

Every case calls the compiled function and the twin's on the same inputs,
in alternating rounds, timed on the process's CPU clock (less noisy than
the wall clock on a shared machine); the best round of each counts, less
the cost of the bare loop over the inputs.

Run: ``.venv/bin/python -m bench.speedups_bench`` (target: >= 5x each);
``--blake2b avx2`` or ``portable`` times the compiled modules with the
BLAKE2b a CPU without AVX-512 (or without AVX2) would use.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import timeit
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gramstack.speedups import (  # noqa: E402
    _cursor,
    _cursor_py,
    _ring,
    _ring_py,
    _timefmt,
    _timefmt_py,
)

TARGET = 5.0
INPUTS = 256


def _cases(rng: random.Random) -> dict[str, tuple[Any, Any, str, list[Any]]]:
    """name -> (compiled function, twin function, how to call it with x, inputs)."""
    now_ms = 1_767_225_600_000
    times = [now_ms + rng.randrange(10**11) for _ in range(INPUTS)]
    keys = [rng.randrange(2**40, 2**62) for _ in range(INPUTS)]
    cursors = [_cursor_py.encode_cursor("feed", key) for key in keys]
    cache_keys = [f"v1:media:{key}" for key in keys]
    nodes = [f"10.0.0.{i}:11211" for i in range(4)]
    compiled_ring, twin_ring = _ring.HashRing(nodes), _ring_py.HashRing(nodes)
    return {
        "timefmt.format_timestamp": (
            _timefmt.format_timestamp,
            _timefmt_py.format_timestamp,
            "call(x)",
            times,
        ),
        "cursor.encode_cursor": (
            _cursor.encode_cursor,
            _cursor_py.encode_cursor,
            "call('feed', x)",
            keys,
        ),
        "cursor.decode_cursor": (
            _cursor.decode_cursor,
            _cursor_py.decode_cursor,
            "call('feed', x)",
            cursors,
        ),
        "ring.HashRing.node_for": (
            compiled_ring.node_for,
            twin_ring.node_for,
            "call(x)",
            cache_keys,
        ),
    }


def _ns_per_call(call: Any, statement: str, inputs: list[Any], loops: int) -> float:
    timer = timeit.Timer(
        f"for x in inputs: {statement}",
        timer=time.process_time,  # CPU time of this process: steadier on a shared machine
        globals={"call": call, "inputs": inputs},
    )
    return timer.timeit(number=loops) / (loops * len(inputs)) * 1e9


def _loop_ns(inputs: list[Any], loops: int) -> float:
    """The cost of the bare benchmark loop, subtracted from both sides."""
    return _ns_per_call(None, "pass", inputs, loops)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--loops", type=int, default=40, help="passes over the inputs per round")
    parser.add_argument(
        "--blake2b",
        default="fastest",
        choices=["fastest", "avx512", "avx2", "portable"],
        help="the BLAKE2b of the compiled cursor and ring",
    )
    args = parser.parse_args(argv)
    chosen = {module._use_blake2b(args.blake2b) for module in (_cursor, _ring)}
    print(f"compiled BLAKE2b: {', '.join(sorted(chosen))}")
    report: dict[str, dict[str, float]] = {}
    for name, (compiled, twin, statement, inputs) in _cases(random.Random(14)).items():
        best = {"compiled": float("inf"), "twin": float("inf"), "loop": float("inf")}
        for _ in range(args.rounds):
            for side, call in (("compiled", compiled), ("twin", twin)):
                ns = _ns_per_call(call, statement, inputs, args.loops)
                best[side] = min(best[side], ns)
            best["loop"] = min(best["loop"], _loop_ns(inputs, args.loops))
        compiled_ns = max(best["compiled"] - best["loop"], 1e-3)
        twin_ns = best["twin"] - best["loop"]
        report[name] = {
            "compiled_ns": round(compiled_ns, 1),
            "twin_ns": round(twin_ns, 1),
            "ratio": round(twin_ns / compiled_ns, 1),
        }
    print(f"{'module':<26} {'compiled':>10} {'twin':>10} {'twin/compiled':>14}")
    for name, row in report.items():
        mark = "" if row["ratio"] >= TARGET else f"  (below the {TARGET:.0f}x target)"
        print(
            f"{name:<26} {row['compiled_ns']:>8.0f}ns {row['twin_ns']:>8.0f}ns"
            f" {row['ratio']:>13.1f}x{mark}"
        )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
