"""``gramstack bench`` end to end, tiny: seed a small graph, serve it, run
both loads for two seconds, and check the report and plots it writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.server import TEST_ENV

REPORT_FIELDS = {"requests", "errors", "requests_per_s", "latency_ms", "operations"}


def _gramstack(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gramstack.cli", *args],
        # SQLite whatever the session's backend: the bench serves this directory.
        env={k: v for k, v in {**os.environ, **TEST_ENV}.items() if "DATABASE_URL" not in k},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_bench_writes_report_and_plots(tmp_path: Path) -> None:
    data = tmp_path / "data"
    seeded = _gramstack(
        "seed", "--quiet", "--data-dir", str(data), "--users", "40", "--posts", "200",
        "--likes", "200", "--comments", "50", "--follows-per-user", "10", timeout=120,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr
    out = tmp_path / "results"
    ran = _gramstack(
        "bench", "--serve", str(data), "--seconds", "2", "--warmup", "0.5",
        "--processes", "1", "--concurrency", "4", "--sessions", "3", "--user-range", "40",
        "--out", str(out), "--quiet", timeout=180,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr + ran.stdout
    assert "of the ceiling" in ran.stdout

    [run_dir] = list(out.iterdir())
    report = json.loads((run_dir / "report.json").read_text())
    for section in ("ceiling", "mixed"):
        assert report[section].keys() >= REPORT_FIELDS
        assert report[section]["requests"] > 0
        assert set(report[section]["latency_ms"]) >= {"p50", "p90", "p99"}
    assert report["ceiling"]["errors"] == 0
    assert report["mixed"]["errors"] == 0
    assert set(report["ceiling"]["operations"]) == {"hello"}
    assert "feed" in report["mixed"]["operations"]
    assert report["mixed"]["share_of_ceiling"] > 0
    assert report["mixed"]["operations"]["feed"]["share_of_ceiling"] > 0
    assert report["signed_in_users"] == 3
    for name in ("hello-world", "mixed"):
        points = report["timeseries"][name]
        assert len(points) == 2
        assert {"t", "requests_per_s", "p50_ms", "p90_ms", "p99_ms"} <= points[0].keys()
    assert report["plots"] == ["throughput.png", "latency.png"]
    for plot in report["plots"]:
        assert (run_dir / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
