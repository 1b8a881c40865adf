"""The primary-store ports the use cases need, one per aggregate.

``gramstack.storage`` implements them (``storage.store.PrimaryStore``);
the domain sees only these Protocols, and the records of
``gramstack.records``. Writes whose follow-up jobs depend on what the
transaction finds are context managers yielding the finding and a
``JobSink``: jobs enqueued in the block commit with the write, and raising
in the block rolls it back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from gramstack.placement.ports import LocationTable
from gramstack.records import (
    CaptionEdit,
    CommentRecord,
    Job,
    LikeOutcome,
    MediaRecord,
    NewJob,
    TagRecord,
    UserRecord,
    WebhookOutcome,
    WebhookRecord,
    WebhookRequest,
)


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

    async def set_avatar(
        self, user_id: int, avatar_id: int | None
    ) -> tuple[UserRecord, int | None] | None:
        """The updated user and the avatar ID it replaced; None: no such user."""
        ...

    async def password_hash(self, user_id: int) -> str | None: ...

    async def is_live(self, user_id: int) -> bool:
        """Whether the account exists and is not deleted (read from the leader)."""
        ...

    async def change_password(
        self, user_id: int, expected_hash: str, password_hash: str, keep_token_hash: str, now: int
    ) -> bool:
        """Also revokes every session but ``keep_token_hash``'s, in the same
        transaction; False (nothing changed) unless the stored hash is ``expected_hash``."""
        ...

    async def mark_deleted(self, user_id: int, now: int, jobs: Sequence[NewJob]) -> str | None:
        """The freed username; None when there is no such live user."""
        ...


class AccountErasure(Protocol):
    """Account deletion's batches (``storage.erasure``): read a batch, clean
    what lives outside the primary store, then delete exactly those rows."""

    async def following_batch(self, user_id: int, limit: int) -> list[tuple[int, int]]: ...

    async def follower_batch(self, user_id: int, limit: int) -> list[tuple[int, int]]: ...

    async def delete_follows(self, follow_ids: Sequence[int]) -> int: ...

    async def like_batch(self, user_id: int, limit: int) -> list[tuple[int, int, int]]: ...

    async def delete_likes(self, like_ids: Sequence[int]) -> int: ...

    async def comment_batch(self, user_id: int, limit: int) -> list[tuple[int, int, int]]: ...

    async def delete_comments(self, comment_ids: Sequence[int]) -> int: ...

    async def media_batch(self, user_id: int, limit: int) -> list[int]: ...

    async def delete_media(self, owner_id: int, media_ids: Sequence[int]) -> int: ...

    async def avatar_of_deleted(self, user_id: int) -> int | None: ...

    async def delete_account(self, user_id: int) -> bool: ...


class InboxMarks(Protocol):
    async def inbox_changed(self, user_ids: Sequence[int]) -> None: ...

    async def seen_id(self, user_id: int) -> int: ...

    async def mark_seen(self, user_id: int, up_to: int) -> None: ...

    async def forget(self, user_id: int) -> None: ...


class TimelineMarks(Protocol):
    async def timelines_changed(self, user_ids: Sequence[int]) -> None: ...

    async def forget(self, user_id: int) -> None: ...


class PeopleStore(Protocol):
    async def search_users(self, prefix: str, offset: int, limit: int) -> list[int]: ...

    async def suggested_users(self, viewer: int, limit: int) -> list[int]: ...

    async def most_followed(self, limit: int) -> list[int]: ...


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
    async def create_media(
        self,
        media: MediaRecord,
        jobs: Sequence[NewJob],
        mention_items: Mapping[int, int] | None = None,
    ) -> MediaRecord:
        """``mention_items``: mentioned user ID -> the ID of their activity item."""
        ...

    def edit_caption(
        self,
        media_id: int,
        caption: str | None,
        alt_texts: Sequence[str] | None,
        parsed: tuple[Sequence[str], Sequence[str], Mapping[int, int]] | None,
        now: int,
        *,
        actor: int,
    ) -> AbstractAsyncContextManager[tuple[CaptionEdit | None, JobSink]]:
        """None: no such media."""
        ...

    async def caption_mentions(self, media_id: int) -> dict[int, int]: ...

    async def forget_caption_mentions(self, media_id: int) -> None: ...

    async def is_live(self, media_id: int) -> bool:
        """Whether the media exists and its owner's account is live (read
        from the leader)."""
        ...

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

    async def comments_by_id(
        self, ids: Sequence[int], *, viewer: int | None = None
    ) -> dict[int, CommentRecord]: ...


class DiscoveryStore(Protocol):
    """Hashtag pages, tag search and explore rankings."""

    async def tag(self, name: str, *, fresh: bool = False) -> TagRecord: ...

    async def tag_media_page(
        self,
        tag: str,
        after: int | None,
        limit: int,
        *,
        viewer: int | None = None,
        fresh: bool = False,
    ) -> list[int]: ...

    async def tags_with_prefix(
        self, prefix: str, limit: int, candidates: int, *, fresh: bool = False
    ) -> list[TagRecord]: ...

    async def latest_explore_snapshot(self) -> tuple[int, int] | None: ...

    async def take_explore_snapshot(
        self, snapshot_id: int, now: int, since: int, size: int, keep_after: int
    ) -> int: ...

    async def explore_snapshot(self, snapshot_id: int) -> list[tuple[int, int]] | None: ...


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


class WebhookStore(Protocol):
    async def set_webhook(self, hook: WebhookRecord) -> None: ...

    async def webhook(self, user_id: int) -> WebhookRecord | None: ...

    async def remove_webhook(self, user_id: int) -> bool:
        """False when there was none."""
        ...


# Told how a background delivery ended (to retry it, or give up).
WebhookDone = Callable[[WebhookOutcome], Awaitable[None]]


class WebhookSender(Protocol):
    """Sends webhook requests off the caller's path (``gramstack.webhooks``)."""

    def start(self, request: WebhookRequest, done: WebhookDone) -> bool:
        """Begin sending ``request`` in the background, within the sender's
        deadline, and call ``done`` with the outcome; False (nothing
        started) when the sender already has all the deliveries it may run."""
        ...

    async def close(self) -> None: ...


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
    def erasure(self) -> AccountErasure: ...

    @property
    def discovery(self) -> DiscoveryStore: ...

    @property
    def people(self) -> PeopleStore: ...

    @property
    def inbox_marks(self) -> InboxMarks: ...

    @property
    def timeline_marks(self) -> TimelineMarks: ...

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

    @property
    def webhooks(self) -> WebhookStore: ...
