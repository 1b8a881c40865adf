"""Turn samples into the benchmark's report: one JSON document and PNG plots
(throughput, and latency percentiles over time, as shares of the ceiling)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gramstack.benchmark.load import OPERATIONS, Samples

PERCENTILES = (50, 90, 99)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _latencies_ms(latencies: Sequence[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    summary = {f"p{p}": round(percentile(ordered, p) * 1000, 3) for p in PERCENTILES}
    summary["mean"] = round(sum(ordered) / len(ordered) * 1000, 3) if ordered else 0.0
    return summary


def _window(samples: Samples, warmup_s: float, seconds: float) -> list[int]:
    """Indexes of the requests that ended inside the measured window."""
    end = warmup_s + seconds
    return [i for i, t in enumerate(samples.ends) if warmup_s <= t < end]


def summarize(samples: Samples, warmup_s: float, seconds: float) -> dict[str, Any]:
    """Totals, rates and latency percentiles, overall and per operation."""
    kept = _window(samples, warmup_s, seconds)
    ok = [i for i in kept if 200 <= samples.statuses[i] < 400]
    per_op: dict[str, Any] = {}
    for code, name in enumerate(OPERATIONS):
        mine = [i for i in kept if samples.operations[i] == code]
        if not mine:
            continue
        statuses: dict[str, int] = {}
        for i in mine:
            key = str(samples.statuses[i])
            statuses[key] = statuses.get(key, 0) + 1
        good = [i for i in mine if 200 <= samples.statuses[i] < 400]
        per_op[name] = {
            "requests": len(mine),
            "errors": len(mine) - len(good),
            "requests_per_s": round(len(good) / seconds, 2),
            "latency_ms": _latencies_ms([samples.latencies[i] for i in good]),
            "statuses": statuses,
        }
    return {
        "requests": len(kept),
        "errors": len(kept) - len(ok),
        "requests_per_s": round(len(ok) / seconds, 2),
        "latency_ms": _latencies_ms([samples.latencies[i] for i in ok]),
        "operations": per_op,
    }


def timeline(samples: Samples, warmup_s: float, seconds: float) -> list[dict[str, float]]:
    """One point per second of the measured window: requests/s and latency
    percentiles (ms) of the requests that ended in it."""
    buckets: list[list[float]] = [[] for _ in range(max(1, math.ceil(seconds)))]
    for t, latency, status in zip(samples.ends, samples.latencies, samples.statuses, strict=True):
        second = int(t - warmup_s)
        if 0 <= t - warmup_s < seconds and 200 <= status < 400:
            buckets[second].append(latency)
    points = []
    for second, latencies in enumerate(buckets):
        ordered = sorted(latencies)
        point = {"t": float(second), "requests_per_s": float(len(ordered))}
        point.update({f"p{p}_ms": percentile(ordered, p) * 1000 for p in PERCENTILES})
        points.append(point)
    return points


def add_shares(report: dict[str, Any]) -> None:
    """Every requests/s figure of the mixed run as a share of the ceiling's."""
    ceiling = report["ceiling"]["requests_per_s"]
    mixed = report["mixed"]
    mixed["share_of_ceiling"] = round(mixed["requests_per_s"] / ceiling, 4) if ceiling else None
    for op in mixed["operations"].values():
        op["share_of_ceiling"] = round(op["requests_per_s"] / ceiling, 4) if ceiling else None


def write_plots(
    out_dir: Path, series: Mapping[str, Sequence[Mapping[str, float]]], ceiling_rps: float
) -> list[str]:
    """``throughput.png`` and ``latency.png``; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    figure, left = plt.subplots(figsize=(9, 4.5))
    for name, points in series.items():
        left.plot([p["t"] for p in points], [p["requests_per_s"] for p in points], label=name)
    left.set_xlabel("seconds")
    left.set_ylabel("requests/s")
    left.set_ylim(bottom=0)
    left.grid(alpha=0.3)
    left.legend(loc="upper left")
    if ceiling_rps:
        # The same curves read as shares of the hello-world ceiling.
        right = left.twinx()
        low, high = left.get_ylim()
        right.set_ylim(low / ceiling_rps, high / ceiling_rps)
        right.set_ylabel("share of hello-world requests/s")
    left.set_title("Throughput")
    figure.tight_layout()
    figure.savefig(out_dir / "throughput.png", dpi=100)
    plt.close(figure)
    names.append("throughput.png")

    figure, axes = plt.subplots(
        1, len(series), figsize=(6 * len(series), 4.5), squeeze=False, sharey=False
    )
    for ax, (name, points) in zip(axes[0], series.items(), strict=True):
        for p in PERCENTILES:
            ax.plot([q["t"] for q in points], [q[f"p{p}_ms"] for q in points], label=f"p{p}")
        ax.set_title(f"Latency: {name}")
        ax.set_xlabel("seconds")
        ax.set_ylabel("ms")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(out_dir / "latency.png", dpi=100)
    plt.close(figure)
    names.append("latency.png")
    return names
