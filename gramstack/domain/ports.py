"""The primary-store ports the use cases need, one per aggregate.

``gramstack.storage`` implements them (``storage.store.PrimaryStore``);
the domain sees only these Protocols, and the records of
``gramstack.records``. Writes whose follow-up jobs depend on what the
transaction finds are context managers yielding the finding and a
``JobSink``: jobs enqueued in the block commit with the write, and raising
in the block rolls it back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from gramstack.placement.ports import LocationTable
from gramstack.records import CommentRecord, Job, LikeOutcome, MediaRecord, NewJob, UserRecord


class JobSink(Protocol):
    """An open write transaction, as far as a use case may touch it."""

    def enqueue(self, *jobs: NewJob) -> None: ...


class AccountStore(Protocol):
    async def create_user(
        self, user_id: int, username: str, password_hash: str, full_name: str, now: int
    ) -> UserRecord | None:
        """None when the username is taken."""
        ...

    async def credentials(self, username: str) -> tuple[int, str] | None: ...

    async def user_id_by_username(self, username: str) -> int | None: ...

    async def users(
        self, ids: Sequence[int], *, viewer: int | None = None
    ) -> dict[int, UserRecord]: ...

    async def update_profile(
        self, user_id: int, full_name: str | None, bio: str | None
    ) -> UserRecord | None: ...

    async def create_session(self, token_hash: str, user_id: int, now: int) -> None: ...

    async def session_user(self, token_hash: str) -> int | None: ...

    async def revoke_session(
        self, token_hash: str, now: int, *, actor: int | None = None
    ) -> None: ...


class GraphStore(Protocol):
    async def follow(
        self, follow_id: int, follower: int, followee: int, now: int, jobs: Sequence[NewJob]
    ) -> bool:
        """True when the follow is new; the jobs are enqueued only then."""
        ...

    def unfollow(
        self, follower: int, followee: int, now: int
    ) -> AbstractAsyncContextManager[tuple[int | None, JobSink]]:
        """The removed follow's ID, None when there was none."""
        ...

    async def followed_among(self, viewer: int, candidates: Sequence[int]) -> set[int]: ...

    async def followers_page(
        self, user_id: int, after: int | None, limit: int, *, viewer: int | None = None
    ) -> list[tuple[int, int]]: ...

    async def following_page(
        self, user_id: int, after: int | None, limit: int, *, viewer: int | None = None
    ) -> list[tuple[int, int]]: ...

    async def follower_ids_after(self, user_id: int, after: int, limit: int) -> list[int]: ...

    async def followed_with_followers_over(self, viewer: int, threshold: int) -> list[int]:
        """The accounts ``viewer`` follows with more than ``threshold`` followers."""
        ...


class MediaStore(Protocol):
    async def create_media(self, media: MediaRecord, jobs: Sequence[NewJob]) -> MediaRecord: ...

    async def media(
        self, ids: Sequence[int], *, viewer: int | None = None
    ) -> dict[int, MediaRecord]: ...

    async def delete_media(
        self, media_id: int, now: int, jobs: Sequence[NewJob], *, actor: int | None = None
    ) -> bool:
        """False when there was no such media."""
        ...

    async def user_media_page(
        self, owner: int, after: int | None, limit: int, *, viewer: int | None = None
    ) -> list[MediaRecord]: ...


class ReactionStore(Protocol):
    """Likes and comments. ``None`` in place of a finding: no such media."""

    def like(
        self, like_id: int, media_id: int, user_id: int, now: int
    ) -> AbstractAsyncContextManager[tuple[LikeOutcome | None, JobSink]]: ...

    def unlike(
        self, media_id: int, user_id: int, now: int
    ) -> AbstractAsyncContextManager[tuple[LikeOutcome | None, JobSink]]: ...

    async def liked_among(self, viewer: int, media_ids: Sequence[int]) -> set[int]: ...

    async def likers_page(
        self, media_id: int, after: int | None, limit: int, *, viewer: int | None = None
    ) -> list[tuple[int, int]]: ...

    def add_comment(
        self, comment: CommentRecord
    ) -> AbstractAsyncContextManager[tuple[int | None, JobSink]]:
        """Yields the media owner's ID."""
        ...

    async def comment_with_owner(self, comment_id: int) -> tuple[CommentRecord, int] | None: ...

    async def delete_comment(
        self, comment_id: int, now: int, jobs: Sequence[NewJob], *, actor: int | None = None
    ) -> bool: ...

    async def comments_page(
        self, media_id: int, after: int | None, limit: int, *, viewer: int | None = None
    ) -> list[CommentRecord]: ...


class JobQueue(Protocol):
    async def enqueue(self, jobs: Sequence[NewJob], now: int) -> None: ...

    async def claim_job(self, now: int, lease_ms: int) -> Job | None: ...

    async def complete_job(self, job_id: int) -> None: ...

    async def retry_job(self, job_id: int, run_after: int, error: str) -> None: ...


class IdShardLeases(Protocol):
    async def lease_id_shard(self, owner: str, now: int, ttl_ms: int, shards: int) -> int: ...

    async def renew_id_shard(self, shard: int, owner: str, now: int, ttl_ms: int) -> bool: ...

    async def release_id_shard(self, shard: int, owner: str) -> None: ...


class RateLimitBuckets(Protocol):
    async def take_token(self, bucket: str, capacity: float, per_ms: float, now: int) -> float:
        """0 when a token was spent, else the milliseconds until one will be there."""
        ...

    async def forget_idle_buckets(self, older_than: int) -> None: ...


class Readiness(Protocol):
    async def ping(self) -> None:
        """Return if the primary database answers; raise otherwise."""
        ...

    def replica_states(self) -> Mapping[str, str]:
        """Each read replica's state ("ok" or "degraded: ..."); a degraded
        replica is skipped, so it does not make the store unready."""
        ...


class PrimaryStore(Protocol):
    @property
    def accounts(self) -> AccountStore: ...

    @property
    def graph(self) -> GraphStore: ...

    @property
    def media(self) -> MediaStore: ...

    @property
    def reactions(self) -> ReactionStore: ...

    @property
    def queue(self) -> JobQueue: ...

    @property
    def placement(self) -> LocationTable: ...

    @property
    def leases(self) -> IdShardLeases: ...

    @property
    def buckets(self) -> RateLimitBuckets: ...

    @property
    def readiness(self) -> Readiness: ...
