"""Sign-up, log-in, sessions and the caller's own profile."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from gramstack.cache import keys
from gramstack.domain.backends import Backends
from gramstack.domain.errors import NotFound, Unauthorized, UsernameTaken
from gramstack.domain.hydration import user_records
from gramstack.domain.models import UserRecord
from gramstack.domain.validation import (
    MAX_BIO,
    MAX_FULL_NAME,
    check_length,
    check_password,
    normalize_username,
)

TOKEN_BYTES = 32


@dataclass(frozen=True, slots=True)
class SessionGrant:
    user: UserRecord
    token: str


def hash_token(token: str) -> str:
    """Only this digest is stored: a leaked sessions table grants nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


async def _open_session(b: Backends, user: UserRecord) -> SessionGrant:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    await b.store.accounts.create_session(hash_token(token), user.id, b.clock_ms())
    return SessionGrant(user=user, token=token)


async def sign_up(b: Backends, username: str, password: str, full_name: str) -> SessionGrant:
    name = normalize_username(username)
    check_password(password)
    check_length("full_name", full_name, MAX_FULL_NAME)
    if await b.store.accounts.user_id_by_username(name) is not None:
        raise UsernameTaken(name)
    password_hash = await b.passwords.hash(password)
    user = await b.store.accounts.create_user(
        b.next_id(), name, password_hash, full_name, b.clock_ms()
    )
    if user is None:
        raise UsernameTaken(name)
    # Placed in this server's region; if this is lost, the first lookup
    # places the user (see placement.client).
    await b.placement.place_new_user(user.id)
    return await _open_session(b, user)


async def log_in(b: Backends, username: str, password: str) -> SessionGrant:
    found = await b.store.accounts.credentials(username.lower())
    if not await b.passwords.verify(None if found is None else found[1], password):
        raise Unauthorized("wrong username or password")
    assert found is not None
    users = await b.store.accounts.users([found[0]], viewer=found[0])
    return await _open_session(b, users[found[0]])


async def authenticate(b: Backends, token: str) -> int:
    """The user ID a bearer token belongs to.

    The lookup is cached (every authenticated request makes one) and only
    live sessions are: revoking a session evicts its key before the
    revocation is acknowledged (the writer's own delete; the outbox in every
    other process; the invalidator), and a refill asks the leader (a
    follower only while the leader is down, see ``session_user``).
    """
    if not token or len(token) > 256:
        raise Unauthorized("invalid token")
    token_hash = hash_token(token)

    async def load() -> bytes | None:
        found = await b.store.accounts.session_user(token_hash)
        return None if found is None else str(found).encode()

    cached = await b.cache.get_or_load(keys.session_key(token_hash), load, b.limits.cache_ttl_s)
    if cached is None:
        raise Unauthorized("invalid or revoked token")
    return int(cached)


async def log_out(b: Backends, token: str) -> None:
    await b.store.accounts.revoke_session(hash_token(token), b.clock_ms())


async def get_me(b: Backends, viewer: int) -> UserRecord:
    users = await user_records(b, [viewer], viewer)
    if viewer not in users:
        raise NotFound("user", viewer)
    return users[viewer]


async def update_me(b: Backends, viewer: int, full_name: str | None, bio: str | None) -> UserRecord:
    if full_name is not None:
        check_length("full_name", full_name, MAX_FULL_NAME)
    if bio is not None:
        check_length("bio", bio, MAX_BIO)
    updated = await b.store.accounts.update_profile(viewer, full_name, bio)
    if updated is None:
        raise NotFound("user", viewer)
    return updated
