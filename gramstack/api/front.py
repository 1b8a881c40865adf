"""The one ASGI layer between the server and the router: the request
metrics, the deadline, and the answer to every exception a route raises.

Five middlewares did this, each with its own coroutine frame per request
and most with their own ``send`` wrapper (Starlette's ServerErrorMiddleware
and ExceptionMiddleware, and ours for unexpected errors, metrics and the
deadline): a third of a plain request's CPU in-process. Here a request
passes through one frame and one wrapper, and a ``Request`` is built only
for an exception handler.

What it does:
- the counter and histogram labelled by method, route template (never
  the raw path: IDs would make the label set unbounded) and status,
  added up per worker and flushed by the deadline sweep, and the in-flight
  gauge (sampled by the same sweep; gramstack.api.metrics);
- a request past the deadline is cancelled and answered 504
  (gramstack.api.deadline);
- an exception with a handler (the domain error table, HTTP errors) is
  answered by it, in the api.md shape;
- any other exception is a bug: logged, answered 500 in the api.md shape,
  and the connection kept (Starlette's own handler re-raises after
  answering, and uvicorn then drops the client's keep-alive connection).
"""

from __future__ import annotations

import logging
from asyncio import CancelledError, current_task
from collections.abc import Awaitable, Callable, Mapping
from time import perf_counter

from starlette.requests import Request
from starlette.responses import Response

from gramstack.api.deadline import RequestDeadlines
from gramstack.api.errors import error_response
from gramstack.api.metrics import SAMPLES, sampled
from gramstack.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("gramstack.api")

ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


class RequestFront:
    def __init__(
        self,
        app: ASGIApp,
        *,
        deadline_s: float,
        handlers: Mapping[type[Exception], ErrorHandler],
    ) -> None:
        self.app = app
        # The deadline sweep runs every tenth of the deadline (at most a
        # quarter of a second) while requests run, and once more when none
        # is left: it sets the in-flight gauge (read as a sample anyway; an
        # increment and a decrement a request cost as much as the counter
        # and histogram together) and flushes the requests recorded since.
        self.deadlines = RequestDeadlines(deadline_s, on_sweep=sampled)
        self.samples = SAMPLES
        self._handlers = dict(handlers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = current_task()
        if scope["type"] != "http" or task is None:
            await self.app(scope, receive, send)  # lifespan
            return
        status = 0  # of the response started, once it is

        async def tracked_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        if self.deadlines.running(task):
            # A request the app makes of itself on a request's task (a web
            # page asks the API whether its object exists): its errors are
            # answered by the same table, and the deadline and the metrics
            # stay the outer request's.
            try:
                await self.app(scope, receive, tracked_send)
            except Exception as exc:
                await self._answer(exc, status != 0, scope, receive, tracked_send)
            return

        started = perf_counter()
        deadlines = self.deadlines
        cancelling = task.cancelling()
        deadlines.start(task, task.get_loop())
        failure: Exception | None = None
        timed_out = False
        try:
            try:
                await self.app(scope, receive, tracked_send)
            except CancelledError:
                if not deadlines.cut_off(task, cancelling):
                    raise
                timed_out = True
            except Exception as exc:
                failure = exc
            finally:
                deadlines.finish(task)
            # Answered outside the deadline: a cut-off cannot land mid-answer.
            if failure is not None:
                await self._answer(failure, status != 0, scope, receive, tracked_send)
            elif timed_out and not status:  # headers gone already: just stop streaming
                timeout = error_response(
                    504, "timeout", f"the request took longer than {deadlines.seconds:g} s"
                )
                await timeout(scope, receive, tracked_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            # Nothing sent: the client went away, or a bug after the headers.
            self.samples.record(method, template, status or 500, perf_counter() - started)

    async def _answer(
        self, failure: Exception, started: bool, scope: Scope, receive: Receive, send: Send
    ) -> None:
        handler = self._handler_for(failure)
        if handler is not None and not started:
            try:
                response = await handler(Request(scope, receive, send), failure)
            except Exception as exc:
                failure = exc
            else:
                await response(scope, receive, send)
                # A reused exception instance would gather tracebacks across requests.
                failure.__traceback__ = None
                return
        log.error(
            "unhandled error on %s %s", scope.get("method"), scope.get("path"), exc_info=failure
        )
        if started:
            raise failure
        internal = error_response(500, "internal_error", "something went wrong on our side")
        await internal(scope, receive, send)

    def _handler_for(self, failure: Exception) -> ErrorHandler | None:
        # The first class in the exception's MRO with a handler wins.
        for cls in type(failure).__mro__:
            handler = self._handlers.get(cls)
            if handler is not None:
                return handler
        return None
