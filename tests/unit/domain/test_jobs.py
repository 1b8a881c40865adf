"""Typed job payloads: each kind encodes to the queue's JSON and decodes
back to the same value, and the wire format stays what older servers wrote."""

from __future__ import annotations

import json

import msgspec
import pytest

from gramstack.domain import jobs
from gramstack.records import ActivityRecord, Job, NewJob


def _claimed(job: NewJob) -> Job:
    return Job(job.id, job.kind, job.payload, attempts=1)


@pytest.mark.parametrize(
    "payload",
    [
        jobs.FanoutMedia(media_id=1, author_id=2),
        jobs.FanoutMedia(media_id=1, author_id=2, after=77),
        jobs.MediaRemoved(media_id=1, owner_id=2),
        jobs.InboxAdd.of(5, ActivityRecord(3, "like", 4, 1, 1000)),
        jobs.InboxAdd.of(5, ActivityRecord(3, "follow", 4, None, 1000)),
        jobs.InboxRemove(user_id=5, id=3),
    ],
)
def test_each_payload_round_trips(payload: jobs.Payload) -> None:
    queued = payload.queued(9)
    assert (queued.id, queued.kind) == (9, payload.KIND)
    assert jobs.decode(_claimed(queued)) == payload


def test_the_wire_format_is_the_one_older_servers_enqueued() -> None:
    activity = ActivityRecord(3, "comment", 4, 1, 1000)
    assert json.loads(jobs.inbox_add(9, 5, activity).payload) == {
        "user_id": 5,
        "id": 3,
        "type": "comment",
        "actor_id": 4,
        "media_id": 1,
        "created_at": 1000,
    }
    assert json.loads(jobs.fanout_media(9, 1, 2).payload) == {
        "media_id": 1,
        "author_id": 2,
        "after": -1,
    }
    old = Job(9, "inbox_remove", json.dumps({"user_id": 5, "id": 3}), 1)
    assert jobs.decode(old) == jobs.InboxRemove(user_id=5, id=3)
    assert jobs.InboxAdd.of(5, activity).activity() == activity


def test_a_payload_that_does_not_fit_its_kind_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="owner_id"):
        jobs.decode(Job(9, "media_removed", '{"media_id": 1}', 1))
    with pytest.raises(msgspec.ValidationError):
        jobs.decode(Job(9, "inbox_add", '{"user_id": 5, "id": 3, "type": "poke"}', 1))
    with pytest.raises(jobs.UnknownJobKind, match="no handler for job kind 'resize'"):
        jobs.decode(Job(9, "resize", "{}", 1))
