"""Requests added up per worker and flushed in bulk read as one
``observe`` and one ``inc`` per request would have: the same count, sum
and buckets, however the flushes fall."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY, Histogram
from prometheus_client.utils import floatToGoString

from gramstack.api.metrics import _BOUNDS, RouteSamples

# Every bucket, values on its bounds exactly, and past the last finite one.
SECONDS = [0.0, 0.001, 0.005, 0.0050001, 0.3, 5, 12, 12.5, 31, 0.02, 0.02]


def _histogram(name: str, labels: dict[str, str]) -> list[float | None]:
    """Each cumulative bucket, then the sum and the count."""
    buckets = [
        REGISTRY.get_sample_value(f"{name}_bucket", {**labels, "le": floatToGoString(bound)})
        for bound in _BOUNDS
    ]
    return [
        *buckets,
        REGISTRY.get_sample_value(f"{name}_sum", labels),
        REGISTRY.get_sample_value(f"{name}_count", labels),
    ]


@pytest.mark.parametrize("flush_every", [1, 3, len(SECONDS)])
def test_bulk_flushes_read_as_one_observation_per_request(flush_every: int) -> None:
    route = f"/bulk/{flush_every}"
    reference = Histogram(f"reference_{flush_every}_seconds", "observed", buckets=_BOUNDS)
    samples = RouteSamples()
    try:
        for n, seconds in enumerate(SECONDS, start=1):
            samples.record("GET", route, 200, seconds)
            reference.observe(seconds)
            if n % flush_every == 0:
                samples.flush()
        samples.flush()  # nothing new since: adds nothing
        latency = _histogram(
            "gramstack_http_request_duration_seconds", {"method": "GET", "route": route}
        )
        observed = _histogram(f"reference_{flush_every}_seconds", {})
        # Buckets and count exactly; the sum up to the order of its additions.
        assert latency[:-2] == observed[:-2] and latency[-1] == observed[-1] == len(SECONDS)
        assert latency[-2] == pytest.approx(observed[-2])
    finally:
        REGISTRY.unregister(reference)
    requests = REGISTRY.get_sample_value(
        "gramstack_http_requests_total", {"method": "GET", "route": route, "status": "200"}
    )
    assert requests == len(SECONDS)


def test_nothing_reaches_the_registry_before_a_flush() -> None:
    samples = RouteSamples()
    samples.record("GET", "/unflushed", 200, 0.01)
    labels = {"method": "GET", "route": "/unflushed", "status": "200"}
    assert REGISTRY.get_sample_value("gramstack_http_requests_total", labels) is None
    samples.flush()
    assert REGISTRY.get_sample_value("gramstack_http_requests_total", labels) == 1
