"""``HttpWebhookSender``: POSTs webhook requests with httpx in background
tasks of the job worker's process, so a slow or dead receiver holds up
neither a request nor the job worker.

Each attempt has one total deadline (name resolution, connect, send, the
answer's status line); at most ``max_in_flight`` run at once; a circuit
breaker per destination (scheme, host, port) stops attempts at a receiver
that keeps failing. Redirects are not followed and, unless private
addresses are allowed, a host name must resolve to public addresses only.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import httpx
from prometheus_client import Counter

from gramstack.records import WebhookOutcome, WebhookRequest
from gramstack.webhooks.breaker import CircuitBreaker

log = logging.getLogger("gramstack.webhooks")

DELIVERIES = Counter(
    "gramstack_webhook_attempts_total", "Webhook delivery attempts, by outcome", ["outcome"]
)


# domain.ports.WebhookDone: told how a delivery ended.
_Done = Callable[[WebhookOutcome], Awaitable[None]]


class _PrivateAddress(Exception):
    pass


def destination(url: str) -> str:
    """The breaker's key for ``url``: scheme, host and port."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname}:{port}"


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verifying TLS context of every webhook client of this process.
    Loading the CA bundle takes about a megabyte of OpenSSL's memory: the
    prefork master builds it once (``gramstack.runtime.prefork``) and its
    workers share it instead of each loading its own."""
    return httpx.create_ssl_context()


class HttpWebhookSender:
    def __init__(
        self,
        *,
        deadline_s: float,
        max_in_flight: int,
        breaker: CircuitBreaker,
        allow_private: bool = False,
    ) -> None:
        self._deadline_s = deadline_s
        self._max_in_flight = max_in_flight
        self.breaker = breaker
        self._allow_private = allow_private
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(deadline_s),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=max_in_flight),
            verify=tls_context(),
        )
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def start(self, request: WebhookRequest, done: _Done) -> bool:
        if len(self._tasks) >= self._max_in_flight:
            return False
        task = asyncio.create_task(self._deliver(request, done))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _deliver(self, request: WebhookRequest, done: _Done) -> None:
        outcome = await self.attempt(request)
        DELIVERIES.labels("delivered" if outcome.delivered else "failed").inc()
        try:
            await done(outcome)
        except Exception:
            log.exception("webhook outcome handler failed for %s", request.url)

    async def attempt(self, request: WebhookRequest) -> WebhookOutcome:
        """One attempt, within the deadline; never raises."""
        where = destination(request.url)
        if not self.breaker.allow(where):
            wait_ms = int(self.breaker.remaining_s(where) * 1000)
            return WebhookOutcome(False, f"circuit open for {where}", retry_after_ms=wait_ms)
        try:
            async with asyncio.timeout(self._deadline_s):
                if not self._allow_private:
                    await self._refuse_private(request.url)
                async with self._client.stream(
                    "POST", request.url, content=request.body, headers=list(request.headers)
                ) as response:
                    status = response.status_code  # the body is not read: not needed
        except _PrivateAddress as exc:
            # The receiver's name, not its health: no breaker count.
            return WebhookOutcome(False, str(exc))
        except TimeoutError:
            self.breaker.record(where, ok=False)
            return WebhookOutcome(False, f"no answer within {self._deadline_s}s")
        except (httpx.HTTPError, OSError) as exc:
            self.breaker.record(where, ok=False)
            return WebhookOutcome(False, f"{type(exc).__name__}: {exc}")
        ok = 200 <= status < 300
        self.breaker.record(where, ok=ok)
        return WebhookOutcome(ok, f"HTTP {status}")

    async def _refuse_private(self, url: str) -> None:
        parts = urlsplit(url)
        host = parts.hostname or ""
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or 443, type=socket.SOCK_STREAM
        )
        for *_, sockaddr in infos:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
            if not address.is_global:
                raise _PrivateAddress(f"{host} resolves to a non-public address {address}")

    async def close(self) -> None:
        """Let deliveries under way finish (they are bounded by the
        deadline), then close the connections."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self._deadline_s + 1)
        for task in set(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()
