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
"""

from __future__ import annotations

import asyncio
from typing import Any

from gramstack.api.errors import error_response
from gramstack.api.tracking import tracked
from gramstack.types import ASGIApp, Receive, Scope, Send


class DeadlineMiddleware:
    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self._sweep_every = min(0.25, seconds / 10)
        # Running requests' tasks -> their deadline (loop time).
        self._running: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._sweep: asyncio.TimerHandle | None = None
        self._sweep_loop: asyncio.AbstractEventLoop | None = None

    def _schedule_sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._sweep is None or self._sweep_loop is not loop:
            self._sweep_loop = loop
            self._sweep = loop.call_later(self._sweep_every, self._cancel_overdue, loop)

    def _cancel_overdue(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweep = None
        now = loop.time()
        for task, deadline in self._running.items():
            if deadline <= now and task not in self._expired:
                self._expired.add(task)
                task.cancel()
        if self._running:
            self._schedule_sweep(loop)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        if scope["type"] != "http" or task is None or task in self._running:
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        response, tracked_send = tracked(scope, send)
        cancelling = task.cancelling()
        self._running[task] = loop.time() + self.seconds
        self._schedule_sweep(loop)
        timed_out = False
        try:
            await self.app(scope, receive, tracked_send)
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            self._expired.discard(task)
            # Ours only if nobody else asked for a cancellation too.
            if task.uncancel() > cancelling:
                raise
            timed_out = True
        finally:
            del self._running[task]
            if task in self._expired:
                # Cut off, but it ended some other way: take our request back.
                self._expired.discard(task)
                task.uncancel()
        if not timed_out or response.started:
            # Headers gone already: all we can do is stop streaming.
            return
        timeout = error_response(504, "timeout", f"the request took longer than {self.seconds:g} s")
        await timeout(scope, receive, send)
