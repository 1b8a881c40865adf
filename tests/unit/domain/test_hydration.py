"""Cached records are decoded once per worker: equal bytes give the one
(frozen) record, different bytes a record of their own."""

from __future__ import annotations

import msgspec
import pytest

from gramstack.domain import hydration
from gramstack.domain.models import MediaRecord, UserRecord


def test_equal_cached_bytes_decode_to_one_shared_record() -> None:
    record = UserRecord(5, "bo", "Bo", "", 1_600_000_000_000, 2, 3, 4)
    value = msgspec.msgpack.encode(record)
    first = hydration._decode_user(value)
    # A second read of the same value (a fresh bytes object, as memcached gives).
    second = hydration._decode_user(bytes(bytearray(value)))
    assert first == record
    assert second is first


def test_a_new_cached_value_is_decoded_afresh() -> None:
    record = MediaRecord(9, 5, "a", 10, 10, 1_700_000_000_000, like_count=1, comment_count=0)
    before = hydration._decode_media(msgspec.msgpack.encode(record))
    changed = msgspec.structs.replace(record, like_count=2)
    after = hydration._decode_media(msgspec.msgpack.encode(changed))
    assert (before.like_count, after.like_count) == (1, 2)


def test_shared_records_cannot_be_changed_in_place() -> None:
    record = hydration._decode_user(
        msgspec.msgpack.encode(UserRecord(6, "cy", "Cy", "", 1_600_000_000_000, 0, 0, 0))
    )
    with pytest.raises(AttributeError):
        record.follower_count = 99  # type: ignore[misc]
    assert record.follower_count == 0
