from __future__ import annotations

from gramstack.benchmark.load import FEED, HELLO, MEDIA, Samples
from gramstack.benchmark.report import add_shares, percentile, summarize, timeline


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([], 50) == 0.0


def _samples() -> Samples:
    samples = Samples()
    # Warm-up (dropped), then two seconds; the one request of the second failed.
    samples.add(0.2, 0.5, FEED, 200)
    for i in range(10):
        samples.add(1.0 + i * 0.1, 0.010, FEED, 200)
    samples.add(1.5, 0.020, MEDIA, 200)
    samples.add(2.5, 0.030, MEDIA, 0)
    return samples


def test_summary_counts_only_the_window_and_rates_only_successes() -> None:
    summary = summarize(_samples(), warmup_s=1.0, seconds=2.0)
    assert summary["requests"] == 12
    assert summary["errors"] == 1
    assert summary["requests_per_s"] == 5.5
    assert summary["operations"]["feed"]["latency_ms"]["p99"] == 10.0
    assert summary["operations"]["media"]["statuses"] == {"200": 1, "0": 1}


def test_timeline_has_one_point_a_second() -> None:
    points = timeline(_samples(), warmup_s=1.0, seconds=2.0)
    assert [p["requests_per_s"] for p in points] == [11.0, 0.0]
    assert points[0]["p50_ms"] == 10.0


def test_shares_are_of_the_ceiling() -> None:
    ceiling = Samples()
    for i in range(20):
        ceiling.add(1.0 + i * 0.1, 0.001, HELLO, 200)
    report = {
        "ceiling": summarize(ceiling, 1.0, 2.0),
        "mixed": summarize(_samples(), 1.0, 2.0),
    }
    add_shares(report)
    assert report["mixed"]["share_of_ceiling"] == 0.55
    assert report["mixed"]["operations"]["feed"]["share_of_ceiling"] == 0.5
