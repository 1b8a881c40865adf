"""The fork-reset metric values: each forked process writes its own file and
the multiprocess collector adds them up, as with prometheus_client's own."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

# In a fresh interpreter: the value class is process-wide state, and forking
# the test runner (with its threads) is not safe.
_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    from gramstack.runtime.process_metrics import use_multiprocess_metrics

    directory = Path(sys.argv[1])
    use_multiprocess_metrics(directory)
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    local = CollectorRegistry()
    hits = Counter("hits", "h", ["route"], registry=local)
    busy = Gauge("busy", "b", multiprocess_mode="livesum", registry=local)
    took = Histogram("took", "t", buckets=(1, 2), registry=local)
    hits.labels("/a").inc(3)
    busy.inc()
    took.observe(0.5)
    children = []
    for n in range(2):
        pid = os.fork()
        if pid == 0:
            hits.labels("/a").inc(5)
            hits.labels("/b").inc()
            took.observe(1.5)
            busy.inc(2)
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    merged = CollectorRegistry()
    MultiProcessCollector(merged, path=str(directory))
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for metric in merged.collect() for s in metric.samples
    }
    print(json.dumps({
        "files": sorted(p.name for p in directory.iterdir()),
        "parent_hits": hits.labels("/a")._value.get(),
        "children": children,
        "hits_a": samples[("hits_total", (("route", "/a"),))],
        "hits_b": samples[("hits_total", (("route", "/b"),))],
        "busy": samples[("busy", ())],
        "took_count": samples[("took_count", ())],
        "took_le_1": samples[("took_bucket", (("le", "1.0"),))],
        "pid": os.getpid(),
    }))
    """
)


def test_forked_workers_write_their_own_files_and_add_up(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    result = json.loads(out.stdout)
    pids = [result["pid"], *result["children"]]
    for pid in pids:
        assert f"counter_{pid}.db" in result["files"]
        assert f"gauge_livesum_{pid}.db" in result["files"]
    # A child starts from zero: nothing the parent counted before the fork
    # is counted twice.
    assert result["hits_a"] == 3 + 2 * 5
    assert result["hits_b"] == 2
    assert result["busy"] == 1 + 2 * 2
    assert result["took_count"] == 3
    assert result["took_le_1"] == 1
    assert result["parent_hits"] == 3
