"""Webhooks: a user's optional URL that each of their events (a like, a
comment, a follow, whatever lands in their activity inbox) is POSTed to.

Nothing here runs on a request's path but registration: delivering
``inbox_add`` enqueues a ``webhook_deliver`` job, and that job hands the
signed request to the ``WebhookSender`` port, which sends it in the
background within its deadline (``gramstack.webhooks``). A failed attempt
is retried as a new job, later, with exponential backoff and jitter, up to
``webhook_max_attempts``; the event ID stays the same so that receivers can
drop the duplicates at-least-once delivery brings.

A delivery's job is deleted only once its attempt has an outcome (and any
retry is queued): while the request is in flight the job stays claimed, so
if the process dies mid-send the claim (``job_claim_s``) runs out and
another worker sends the event again.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import random
import re
import secrets
from urllib.parse import urlsplit

import msgspec

from gramstack.domain import jobs
from gramstack.domain.backends import Backends
from gramstack.domain.errors import Forbidden, NotFound, ValidationFailed
from gramstack.records import WebhookOutcome, WebhookRecord, WebhookRequest
from gramstack.speedups.timefmt import format_timestamp

log = logging.getLogger("gramstack.webhooks")

MAX_URL_LENGTH = 2000
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
# What a webhook URL may look like, stated in the OpenAPI document too: an
# absolute http(s) URL with a DNS name or IPv4 host (no user info, no IPv6
# literal), an optional port 1-65535, and printable ASCII after the host.
URL_PATTERN = rf"^https?://{_LABEL}(?:\.{_LABEL})*(?::{_PORT})?(?:[/?#][!-~]*)?$"
MAX_BACKOFF_MS = 3_600_000
SIGNATURE_HEADER = "X-Gramstack-Signature"
EVENT_ID_HEADER = "X-Gramstack-Event-Id"


def is_private_host(host: str) -> bool:
    """True for names and addresses that reach this machine or a private
    network: loopback, link-local, RFC 1918, unique-local, unspecified."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: the sender checks what it resolves to
    return not address.is_global


def checked_url(url: str, *, allow_private: bool) -> str:
    """``url`` if it may be a webhook; raises ``ValidationFailed`` when it is
    not a URL of ``URL_PATTERN``, ``Forbidden`` when it names this machine or
    a private network (a user could otherwise make the server probe it)."""
    if len(url) > MAX_URL_LENGTH:
        raise ValidationFailed("url", f"must be at most {MAX_URL_LENGTH} characters")
    if re.fullmatch(URL_PATTERN, url) is None:
        raise ValidationFailed("url", "must be an absolute http or https URL")
    host = urlsplit(url).hostname or ""
    if not allow_private and is_private_host(host):
        raise Forbidden("webhooks may not point at loopback or private addresses")
    return url


async def register(b: Backends, user_id: int, url: str) -> WebhookRecord:
    """Set (or replace) ``user_id``'s webhook with a fresh signing secret."""
    hook = WebhookRecord(
        user_id,
        checked_url(url, allow_private=b.limits.webhook_allow_private),
        secrets.token_urlsafe(32),
        b.clock_ms(),
    )
    await b.store.webhooks.set_webhook(hook)
    return hook


async def get(b: Backends, user_id: int) -> WebhookRecord:
    hook = await b.store.webhooks.webhook(user_id)
    if hook is None:
        raise NotFound("no webhook is registered")
    return hook


async def remove(b: Backends, user_id: int) -> None:
    if not await b.store.webhooks.remove_webhook(user_id):
        raise NotFound("no webhook is registered")


def signature(secret: str, body: bytes) -> str:
    """The signature header's value: receivers recompute it over the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _Actor(msgspec.Struct, frozen=True):
    id: str
    username: str | None


class Event(msgspec.Struct, frozen=True):
    """The JSON body of a delivery; IDs are strings, as in api.md."""

    event_id: str
    type: str
    user_id: str  # whose event it is: the webhook's owner
    actor: _Actor
    media_id: str | None
    created_at: str
    attempt: int


_ENCODER = msgspec.json.Encoder()


async def enqueue_delivery(b: Backends, added: jobs.InboxAdd) -> None:
    """Queue a delivery of an activity item just added to an inbox, when its
    owner has a webhook (idempotent enough: a repeat has the same event ID)."""
    if await b.store.webhooks.webhook(added.user_id) is None:
        return
    await b.store.queue.enqueue([jobs.WebhookDeliver.of(added).queued(b.next_id())], b.clock_ms())


def backoff_ms(base_ms: int, attempt: int) -> int:
    """Delay before retry number ``attempt + 1``: doubling, with jitter so
    that a receiver coming back is not hit by every retry at once."""
    ceiling = min(MAX_BACKOFF_MS, base_ms * 2 ** min(attempt, 30))
    return int(ceiling * random.uniform(0.5, 1.0))


class SenderBusy(RuntimeError):
    """The sender runs all the deliveries it may; the job is retried later."""


async def deliver(b: Backends, job: jobs.WebhookDeliver, queued_id: int) -> bool:
    """Start one delivery attempt, without waiting for the answer. False
    when it was started: the queue's job ``queued_id`` is then completed
    once the attempt ends; True when there was nothing to send."""
    if b.webhooks is None:
        raise RuntimeError("this process has no webhook sender")
    hook = await b.store.webhooks.webhook(job.user_id)
    if hook is None:
        return True  # removed since: nothing to send
    actors = await b.store.accounts.users([job.actor_id])
    actor = actors.get(job.actor_id)
    body = _ENCODER.encode(
        Event(
            event_id=str(job.id),
            type=job.type,
            user_id=str(job.user_id),
            actor=_Actor(str(job.actor_id), actor.username if actor else None),
            media_id=None if job.media_id is None else str(job.media_id),
            created_at=format_timestamp(job.created_at),
            attempt=job.attempt + 1,
        )
    )
    request = WebhookRequest(
        hook.url,
        body,
        (
            ("Content-Type", "application/json"),
            ("User-Agent", "gramstack-webhooks/1"),
            (EVENT_ID_HEADER, str(job.id)),
            (SIGNATURE_HEADER, signature(hook.secret, body)),
        ),
    )

    async def done(outcome: WebhookOutcome) -> None:
        # The retry first, then the job: a crash between the two sends the
        # event once more, never not at all.
        await follow_up(outcome)
        await b.store.queue.complete_job(queued_id)

    async def follow_up(outcome: WebhookOutcome) -> None:
        if outcome.delivered:
            return
        if job.attempt + 1 >= b.limits.webhook_max_attempts:
            log.warning(
                "webhook event %s for user %s given up after %s attempts: %s",
                job.id,
                job.user_id,
                job.attempt + 1,
                outcome.detail,
            )
            return
        # Not before an open circuit would let it through: retries spent
        # against an open circuit would give events up in one short outage.
        delay = outcome.retry_after_ms + backoff_ms(b.limits.webhook_backoff_ms, job.attempt)
        log.info(
            "webhook event %s for user %s failed (%s); retry in %sms",
            job.id,
            job.user_id,
            outcome.detail,
            delay,
        )
        await b.store.queue.enqueue([job.retried().queued(b.next_id())], b.clock_ms() + delay)

    if not b.webhooks.start(request, done):
        raise SenderBusy("every webhook delivery slot is busy")
    return False
