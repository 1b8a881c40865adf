from __future__ import annotations

import pytest

from gramstack.webhooks.breaker import CircuitBreaker
from gramstack.webhooks.sender import destination


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_n_failures_in_a_row_and_not_before() -> None:
    clock = Clock()
    breaker = CircuitBreaker(3, cooldown_s=10, clock=clock)
    for _ in range(2):
        assert breaker.allow("a")
        breaker.record("a", ok=False)
    breaker.record("a", ok=True)  # a success resets the count
    for _ in range(3):
        assert breaker.allow("a")
        breaker.record("a", ok=False)
    assert breaker.is_open("a")
    assert not breaker.allow("a")
    assert breaker.allow("b")  # other destinations are not affected


def test_half_open_lets_one_probe_through_after_the_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, cooldown_s=10, clock=clock)
    breaker.record("a", ok=False)
    clock.now = 9.9
    assert breaker.remaining_s("a") == pytest.approx(0.1)
    assert not breaker.allow("a")
    clock.now = 10.0
    assert breaker.allow("a")  # the probe
    assert not breaker.allow("a")  # only one at a time
    breaker.record("a", ok=False)  # a failed probe re-opens for a full cooldown
    clock.now = 19.9
    assert not breaker.allow("a")
    clock.now = 20.0
    assert breaker.allow("a")
    breaker.record("a", ok=True)
    assert not breaker.is_open("a")
    assert breaker.remaining_s("a") == 0
    assert breaker.allow("a") and breaker.allow("a")


def test_destination_is_scheme_host_and_port() -> None:
    assert destination("https://Example.com/hook?x=1") == "https://example.com:443"
    assert destination("http://example.com:8080/a") == "http://example.com:8080"
    assert destination("http://example.com/") == "http://example.com:80"
