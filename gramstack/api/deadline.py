"""Request deadline: a request still running after the deadline is
cancelled and answered 504, so one slow backend cannot pile up work the
client has already given up on.

One timer per worker rather than one per request: ``asyncio.timeout``
schedules a timer handle per request and leaves it cancelled in the event
loop's heap for the whole deadline (tens of thousands of them at a few
thousand requests a second), about 5 µs a request. Here a request
registers its deadline in a dict, and a sweep, scheduled only while
requests are running, cancels the overdue ones: a request is cut off
between its deadline and one sweep interval (a tenth of the deadline, at
most a quarter of a second) after it. The cancellation is told apart from
any other as ``asyncio.timeout`` does (``Task.cancelling``/``uncancel``).

gramstack.api.front calls these around each request it serves. The sweep
also reports how many requests are running (``on_sweep``): the in-flight
gauge is set from it rather than moved twice a request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class RequestDeadlines:
    __slots__ = (
        "_expired",
        "_on_sweep",
        "_running",
        "_sweep",
        "_sweep_every",
        "_sweep_loop",
        "seconds",
    )

    def __init__(self, seconds: float, on_sweep: Callable[[int], None] | None = None) -> None:
        self.seconds = seconds
        self._on_sweep = on_sweep
        self._sweep_every = min(0.25, seconds / 10)
        # Running requests' tasks -> their deadline (loop time).
        self._running: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._sweep: asyncio.TimerHandle | None = None
        self._sweep_loop: asyncio.AbstractEventLoop | None = None

    def running(self, task: asyncio.Task[Any]) -> bool:
        return task in self._running

    def start(self, task: asyncio.Task[Any], loop: asyncio.AbstractEventLoop) -> None:
        """The request on ``task`` runs until ``seconds`` from now."""
        self._running[task] = loop.time() + self.seconds
        if self._sweep is None or self._sweep_loop is not loop:
            self._schedule_sweep(loop)

    def cut_off(self, task: asyncio.Task[Any], cancelling: int) -> bool:
        """Whether the ``CancelledError`` being handled on ``task`` is the
        deadline's alone (``cancelling``: the task's count when it started).
        If so it is taken back: the request is answered 504, not cancelled."""
        if task not in self._expired:
            return False
        self._expired.discard(task)
        # Ours only if nobody else asked for a cancellation too.
        return task.uncancel() <= cancelling

    def finish(self, task: asyncio.Task[Any]) -> None:
        del self._running[task]
        if self._expired and task in self._expired:
            # Cut off, but it ended some other way: take our request back.
            self._expired.discard(task)
            task.uncancel()

    def _schedule_sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweep_loop = loop
        self._sweep = loop.call_later(self._sweep_every, self._cancel_overdue, loop)

    def _cancel_overdue(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweep = None
        now = loop.time()
        for task, deadline in self._running.items():
            if deadline <= now and task not in self._expired:
                self._expired.add(task)
                task.cancel()
        if self._on_sweep is not None:
            self._on_sweep(len(self._running))
        if self._running:
            self._schedule_sweep(loop)
