"""The follow-up work a write leaves behind, as durable, typed jobs.

Each job kind is one ``msgspec.Struct`` below, its payload's only
declaration: ``queued`` encodes it for the queue and ``decode`` turns a
claimed job back into it, side by side. Each is enqueued in the
transaction of the write that causes it and carried out by
``gramstack.jobs.worker``; handlers live in ``gramstack.domain.fanout`` and
must be idempotent (at-least-once delivery).

Payloads are JSON objects whose field names are the queue's wire format:
a job enqueued by an older server must still decode, so rename nothing.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from gramstack.records import ActivityRecord, ActivityType, Job, NewJob


class _Payload(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    KIND: ClassVar[str]

    def queued(self, job_id: int) -> NewJob:
        return NewJob(job_id, self.KIND, _ENCODER.encode(self).decode())


class FanoutMedia(_Payload, frozen=True):
    """Add a new post to its author's and every follower's timeline, one
    batch of followers (those with IDs above ``after``) per job."""

    KIND: ClassVar[str] = "fanout_media"
    media_id: int
    author_id: int
    after: int = -1  # -1: first batch, which also adds it to the author's own timeline


class MediaRemoved(_Payload, frozen=True):
    KIND: ClassVar[str] = "media_removed"
    media_id: int
    owner_id: int


class InboxAdd(_Payload, frozen=True):
    """An activity item for ``user_id``'s inbox (its fields flattened)."""

    KIND: ClassVar[str] = "inbox_add"
    user_id: int
    id: int
    type: ActivityType
    actor_id: int
    media_id: int | None
    created_at: int

    @classmethod
    def of(cls, user_id: int, activity: ActivityRecord) -> InboxAdd:
        return cls(
            user_id=user_id,
            id=activity.id,
            type=activity.type,
            actor_id=activity.actor_id,
            media_id=activity.media_id,
            created_at=activity.created_at,
        )

    def activity(self) -> ActivityRecord:
        return ActivityRecord(self.id, self.type, self.actor_id, self.media_id, self.created_at)


class InboxRemove(_Payload, frozen=True):
    KIND: ClassVar[str] = "inbox_remove"
    user_id: int
    id: int  # the activity's


class MoveUser(_Payload, frozen=True):
    """Move ``user_id``'s regional data to ``region``, one step of Akkio's
    protocol per run (``placement.migrator``)."""

    KIND: ClassVar[str] = "move_user"
    user_id: int
    region: str


class AccountDeletion(_Payload, frozen=True):
    """Clear everything a deleted account made (``domain.account_deletion``);
    re-enqueued until done, each run a bounded number of batches."""

    KIND: ClassVar[str] = "account_deletion"
    user_id: int


class WebhookDeliver(_Payload, frozen=True):
    """POST one activity item to ``user_id``'s webhook; ``attempt`` counts
    the deliveries tried before this one (each retry is a new job)."""

    KIND: ClassVar[str] = "webhook_deliver"
    user_id: int
    id: int  # the activity's: the event ID receivers deduplicate on
    type: ActivityType
    actor_id: int
    media_id: int | None
    created_at: int
    attempt: int = 0

    @classmethod
    def of(cls, added: InboxAdd) -> WebhookDeliver:
        return cls(
            user_id=added.user_id,
            id=added.id,
            type=added.type,
            actor_id=added.actor_id,
            media_id=added.media_id,
            created_at=added.created_at,
        )

    def retried(self) -> WebhookDeliver:
        return msgspec.structs.replace(self, attempt=self.attempt + 1)


Payload = (
    FanoutMedia
    | MediaRemoved
    | InboxAdd
    | InboxRemove
    | MoveUser
    | AccountDeletion
    | WebhookDeliver
)

KINDS: dict[str, type[Payload]] = {
    cls.KIND: cls
    for cls in (
        FanoutMedia,
        MediaRemoved,
        InboxAdd,
        InboxRemove,
        MoveUser,
        AccountDeletion,
        WebhookDeliver,
    )
}
_ENCODER = msgspec.json.Encoder()
_DECODERS: dict[str, msgspec.json.Decoder[Payload]] = {
    kind: msgspec.json.Decoder(cls) for kind, cls in KINDS.items()
}


class UnknownJobKind(LookupError):
    pass


def decode(job: Job) -> Payload:
    """The typed payload of a claimed job; raises ``msgspec.ValidationError``
    on a payload that does not fit its kind, ``UnknownJobKind`` on a kind
    this server does not know."""
    decoder = _DECODERS.get(job.kind)
    if decoder is None:
        raise UnknownJobKind(f"no handler for job kind {job.kind!r}")
    return decoder.decode(job.payload)


def fanout_media(job_id: int, media_id: int, author_id: int, after_follower: int = -1) -> NewJob:
    return FanoutMedia(media_id, author_id, after_follower).queued(job_id)


def media_removed(job_id: int, media_id: int, owner_id: int) -> NewJob:
    return MediaRemoved(media_id, owner_id).queued(job_id)


def inbox_add(job_id: int, user_id: int, activity: ActivityRecord) -> NewJob:
    return InboxAdd.of(user_id, activity).queued(job_id)


def inbox_remove(job_id: int, user_id: int, activity_id: int) -> NewJob:
    return InboxRemove(user_id, activity_id).queued(job_id)


def move_user(job_id: int, user_id: int, region: str) -> NewJob:
    return MoveUser(user_id, region).queued(job_id)


def account_deletion(job_id: int, user_id: int) -> NewJob:
    return AccountDeletion(user_id).queued(job_id)
