"""Sign-up, log-in, sessions and the caller's own profile."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from gramstack.cache import keys
from gramstack.domain import jobs
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
    # Hashed on every request (under a µs) rather than remembered by token:
    # a worker keeps no bearer token past the request that presented it.
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


async def _check_password(b: Backends, viewer: int, password: str) -> str:
    """The stored hash ``password`` matches; Unauthorized when it does not."""
    stored = await b.store.accounts.password_hash(viewer)
    if stored is None or not await b.passwords.verify(stored, password):
        raise Unauthorized("wrong password")
    return stored


async def change_password(
    b: Backends, viewer: int, token: str, current_password: str, new_password: str
) -> None:
    """Set a new password; every session but the caller's stops working at
    once (sessions are checked on the leader on every request, never from a
    cache, so the revocation's commit is the moment they stop)."""
    checked = await _check_password(b, viewer, current_password)
    check_password(new_password)
    new_hash = await b.passwords.hash(new_password)
    if not await b.store.accounts.change_password(
        viewer, checked, new_hash, hash_token(token), b.clock_ms()
    ):
        # Changed by a concurrent request since it was checked.
        raise Unauthorized("wrong password")


async def delete_account(b: Backends, viewer: int, password: str) -> None:
    """Mark the account deleted and revoke its sessions now (it disappears
    from every read at once); the ``account_deletion`` job, enqueued in
    the same transaction, clears what it made."""
    await _check_password(b, viewer, password)
    now = b.clock_ms()
    job = jobs.account_deletion(b.next_id(), viewer)
    username = await b.store.accounts.mark_deleted(viewer, now, [job])
    if username is None:
        raise Unauthorized("invalid or revoked token")
    await b.cache.delete([keys.username_key(username), keys.user_key(viewer)])
