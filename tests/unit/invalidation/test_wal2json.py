from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gramstack.invalidation.wal2json import (
    Begin,
    Commit,
    RowChange,
    decode,
    format_lsn,
    parse_lsn,
)


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_lsn_text_round_trips(lsn: int) -> None:
    assert parse_lsn(format_lsn(lsn)) == lsn


def test_lsn_order_follows_postgres_text_form() -> None:
    assert parse_lsn("0/16B3748") < parse_lsn("0/16B3750") < parse_lsn("1/0")


def test_insert_update_delete() -> None:
    insert = decode(
        json.dumps(
            {
                "action": "I",
                "schema": "public",
                "table": "likes",
                "columns": [
                    {"name": "id", "type": "bigint", "value": 7},
                    {"name": "media_id", "type": "bigint", "value": 42},
                ],
            }
        )
    )
    assert insert == RowChange("likes", "insert", {"id": 7, "media_id": 42}, None)
    update = decode(
        json.dumps(
            {
                "action": "U",
                "table": "media",
                "columns": [{"name": "id", "value": 42}, {"name": "like_count", "value": 3}],
                "identity": [{"name": "id", "value": 42}],
            }
        )
    )
    assert isinstance(update, RowChange)
    assert update.action == "update"
    assert update.value("like_count") == 3
    delete = decode(
        json.dumps(
            {"action": "D", "table": "likes", "identity": [{"name": "media_id", "value": 42}]}
        )
    )
    assert isinstance(delete, RowChange)
    assert (delete.action, delete.new, delete.value("media_id")) == ("delete", None, 42)


def test_transaction_frames() -> None:
    assert decode('{"action":"B","xid":5}') == Begin()
    commit = decode(
        '{"action":"C","xid":5,"lsn":"0/16B3748","timestamp":"2026-11-25 05:01:02.5+00"}'
    )
    assert isinstance(commit, Commit)
    assert commit.lsn == 0x16B3748
    assert commit.committed_at == pytest.approx(1795582862.5)


def test_other_messages_are_ignored() -> None:
    assert decode('{"action":"T","table":"likes"}') is None
    assert decode('{"action":"M","prefix":"x","content":"y"}') is None
