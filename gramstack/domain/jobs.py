"""The follow-up work a write leaves behind, as durable job descriptions.

Each is enqueued in the transaction of the write that causes it and
carried out by ``gramstack.jobs.worker``; handlers live in
``gramstack.domain.fanout`` and must be idempotent (at-least-once delivery).
"""

from __future__ import annotations

from gramstack.domain.models import ActivityRecord
from gramstack.storage.store import NewJob

FANOUT_MEDIA = "fanout_media"
MEDIA_REMOVED = "media_removed"
INBOX_ADD = "inbox_add"
INBOX_REMOVE = "inbox_remove"


def fanout_media(job_id: int, media_id: int, author_id: int, after_follower: int = -1) -> NewJob:
    return NewJob(
        job_id,
        FANOUT_MEDIA,
        {"media_id": media_id, "author_id": author_id, "after": after_follower},
    )


def media_removed(job_id: int, media_id: int, owner_id: int) -> NewJob:
    return NewJob(job_id, MEDIA_REMOVED, {"media_id": media_id, "owner_id": owner_id})


def inbox_add(job_id: int, user_id: int, activity: ActivityRecord) -> NewJob:
    return NewJob(
        job_id,
        INBOX_ADD,
        {
            "user_id": user_id,
            "id": activity.id,
            "type": activity.type,
            "actor_id": activity.actor_id,
            "media_id": activity.media_id,
            "created_at": activity.created_at,
        },
    )


def inbox_remove(job_id: int, user_id: int, activity_id: int) -> NewJob:
    return NewJob(job_id, INBOX_REMOVE, {"user_id": user_id, "id": activity_id})
