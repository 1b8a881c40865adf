from __future__ import annotations

import hashlib
import hmac

import pytest

from gramstack.domain import jobs
from gramstack.domain.errors import Forbidden, ValidationFailed
from gramstack.domain.webhooks import MAX_URL_LENGTH, backoff_ms, checked_url, signature
from gramstack.records import Job


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hook",
        "http://hooks.example.org:8080/a?b=c",
        "https://93.184.216.34/x",
        "https://hooks.example.com:65535/a/b?c=d&e=%20#frag",
    ],
)
def test_public_http_urls_are_accepted(url: str) -> None:
    assert checked_url(url, allow_private=False) == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "example.com/hook",
        "https://",
        "https://user:pw@example.com/",
        "https://example.com:99999/",
        "https://example.com:0/",
        "https://exa mple.com/",
        "https://example.com/a b",
        "https://example.com/\n",
        "https://example.com\n",
        "https://-bad.example.com/",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/x",  # IPv6 literals: not supported
        "https://example.com/" + "a" * MAX_URL_LENGTH,
    ],
)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(ValidationFailed):
        checked_url(url, allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/",
        "http://localhost/",
        "http://api.localhost/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
    ],
)
def test_private_addresses_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(Forbidden):
        checked_url(url, allow_private=False)
    assert checked_url(url, allow_private=True) == url


def test_signature_is_hmac_sha256_of_the_body() -> None:
    body = b'{"type":"like"}'
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert signature("s3cret", body) == f"sha256={expected}"


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    for attempt in range(6):
        ceiling = 1000 * 2**attempt
        delays = {backoff_ms(1000, attempt) for _ in range(50)}
        assert all(ceiling // 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered
    assert backoff_ms(1000, 100) <= 3_600_000


def test_webhook_deliver_round_trips_through_the_queue_and_counts_attempts() -> None:
    added = jobs.InboxAdd(user_id=1, id=2, type="like", actor_id=3, media_id=4, created_at=5)
    first = jobs.WebhookDeliver.of(added)
    queued = first.retried().queued(99)
    assert queued.kind == "webhook_deliver"
    decoded = jobs.decode(Job(id=99, kind=queued.kind, payload=queued.payload, attempts=1))
    assert decoded == jobs.WebhookDeliver(1, 2, "like", 3, 4, 5, attempt=1)
