"""A gramstack API client for the fault tests: every answer is timed and
classified, and every acknowledged write is recorded so that it can be
checked against the leader afterwards."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, field

import httpx
from PIL import Image

API = "/api/v1"
READ_NODE = "x-gramstack-read-node"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), "teal").save(out, "PNG")
    return out.getvalue()


@dataclass
class Tally:
    """What users saw during one phase (a fault, or the calm before it)."""

    requests: int = 0
    errors_5xx: int = 0
    unavailable_503: int = 0
    past_deadline: int = 0
    transport_errors: int = 0
    unshaped_errors: int = 0  # an error answer not in the api.md shape
    missing_retry_after: int = 0  # a 503 without Retry-After
    slowest_s: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


@dataclass
class Ledger:
    """Acknowledged writes, and the tally of the current phase."""

    deadline_s: float = 12.0
    users: dict[str, str] = field(default_factory=dict)  # username -> token
    media: dict[str, str] = field(default_factory=dict)  # media id -> owner
    likes: set[tuple[str, str]] = field(default_factory=set)  # (username, media id)
    comments: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (user, media)
    follows: set[tuple[str, str]] = field(default_factory=set)  # (follower, followee)
    tally: Tally = field(default_factory=Tally)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, response: httpx.Response | None, elapsed: float) -> None:
        with self.lock:
            t = self.tally
            t.requests += 1
            t.slowest_s = max(t.slowest_s, elapsed)
            if elapsed > self.deadline_s:
                t.past_deadline += 1
            if response is None:
                t.transport_errors += 1
                return
            if response.status_code >= 500:
                t.errors_5xx += 1
            if response.status_code == 503:
                t.unavailable_503 += 1
                if "retry-after" not in response.headers:
                    t.missing_retry_after += 1
            if response.status_code >= 400:
                try:
                    error = response.json()["error"]
                    assert isinstance(error["code"], str) and isinstance(error["message"], str)
                except Exception:
                    t.unshaped_errors += 1

    def next_phase(self) -> Tally:
        with self.lock:
            done, self.tally = self.tally, Tally()
        return done


class Client:
    def __init__(self, base_url: str, ledger: Ledger, token: str | None = None) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.ledger = ledger
        self.token = token

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, **kwargs: object) -> httpx.Response | None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        started = time.monotonic()
        try:
            response: httpx.Response | None = self.http.request(
                method,
                path,
                headers=headers,
                **kwargs,  # type: ignore[arg-type]
            )
        except httpx.HTTPError:
            response = None
        self.ledger.record(response, time.monotonic() - started)
        return response

    # -- writes: recorded only once acknowledged (2xx) ---------------------

    def signup(self, username: str) -> bool:
        r = self.call(
            "POST", f"{API}/accounts", json={"username": username, "password": "pw-12345678"}
        )
        if r is not None and r.status_code == 201:
            self.token = r.json()["token"]
            with self.ledger.lock:
                self.ledger.users[username] = self.token
            return True
        return False

    def post(self, owner: str) -> str | None:
        r = self.call("POST", f"{API}/media", files={"file": ("p.png", png(), "image/png")})
        if r is not None and r.status_code == 201:
            media_id: str = r.json()["id"]
            with self.ledger.lock:
                self.ledger.media[media_id] = owner
            return media_id
        return None

    def like(self, user: str, media_id: str) -> None:
        r = self.call("PUT", f"{API}/media/{media_id}/like")
        if r is not None and r.is_success:
            with self.ledger.lock:
                self.ledger.likes.add((user, media_id))

    def comment(self, user: str, media_id: str) -> None:
        r = self.call("POST", f"{API}/media/{media_id}/comments", json={"text": f"by {user}"})
        if r is not None and r.status_code == 201:
            with self.ledger.lock:
                self.ledger.comments[r.json()["id"]] = (user, media_id)

    def follow(self, user: str, other: str) -> None:
        r = self.call("PUT", f"{API}/users/{other}/follow")
        if r is not None and r.is_success:
            with self.ledger.lock:
                self.ledger.follows.add((user, other))
