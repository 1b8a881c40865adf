"""A circuit breaker per destination: after ``failures_to_open`` failures
in a row, a destination gets no attempts for ``cooldown_s``; then one probe
is let through (half-open), and its outcome closes or re-opens the circuit."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Circuit:
    failures: int = 0
    opened_at: float | None = None  # None: closed
    probing: bool = False  # half-open, with its one probe under way


class CircuitBreaker:
    def __init__(
        self,
        failures_to_open: int,
        cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._failures_to_open = failures_to_open
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._circuits: dict[str, _Circuit] = {}

    def allow(self, destination: str) -> bool:
        """Whether an attempt may go to ``destination`` now; a True from a
        half-open circuit makes that attempt its probe."""
        circuit = self._circuits.get(destination)
        if circuit is None or circuit.opened_at is None:
            return True
        if circuit.probing or self._clock() - circuit.opened_at < self._cooldown_s:
            return False
        circuit.probing = True
        return True

    def record(self, destination: str, *, ok: bool) -> None:
        if ok:
            self._circuits.pop(destination, None)
            return
        circuit = self._circuits.setdefault(destination, _Circuit())
        circuit.failures += 1
        if circuit.probing or circuit.failures >= self._failures_to_open:
            circuit.opened_at = self._clock()
            circuit.probing = False

    def remaining_s(self, destination: str) -> float:
        """How long ``destination``'s circuit stays open (0 when closed)."""
        circuit = self._circuits.get(destination)
        if circuit is None or circuit.opened_at is None:
            return 0.0
        return max(0.0, circuit.opened_at + self._cooldown_s - self._clock())

    def is_open(self, destination: str) -> bool:
        circuit = self._circuits.get(destination)
        return circuit is not None and circuit.opened_at is not None
