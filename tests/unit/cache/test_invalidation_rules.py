from __future__ import annotations

from gramstack.cache import keys
from gramstack.invalidation.outbox import decode, encode
from gramstack.invalidation.rules import COLUMNS, Change, keys_for


def test_each_changed_row_names_its_keys() -> None:
    changes = [
        Change("users", "update", {"id": 1}),
        Change("media", "update", {"id": 7}),
        Change("media", "insert", {"id": 8, "owner_id": 1}),
        Change("follows", "delete", {"follower_id": 2, "followee_id": 1}),
        Change("likes", "insert", {"user_id": 2, "media_id": 7}),
        Change("sessions", "insert", {"id": 3}),  # no token_hash: names nothing
        Change("sessions", "update", {"token_hash": "ab12"}),  # a revocation
        Change("users", "update", {"id": 1}),
    ]
    assert keys_for(changes) == [
        keys.user_key(1),
        keys.media_key(7),
        keys.media_key(8),
        keys.user_media_key(1),
        keys.follows_key(2, 1),
        keys.pulled_followees_key(2),
        keys.suggestions_key(2),
        keys.liked_key(2, 7),
        keys.session_key("ab12"),
    ]


def test_a_username_taken_again_evicts_its_cached_id() -> None:
    assert keys_for([Change("users", "insert", {"id": 4, "username": "ana"})]) == [
        keys.user_key(4),
        keys.username_key("ana"),
    ]
    # Counter updates (every follow) leave the username's key alone.
    assert keys_for([Change("users", "update", {"id": 4, "username": "ana"})]) == [keys.user_key(4)]


def test_an_inbox_write_or_seen_mark_evicts_the_unread_count() -> None:
    assert keys_for([Change("inbox_marks", "update", {"user_id": 5})]) == [keys.unread_key(5)]


def test_a_search_word_evicts_the_results_of_each_prefix() -> None:
    assert keys_for([Change("user_words", "delete", {"word": "ana", "user_id": 4})]) == [
        keys.user_search_key("a"),
        keys.user_search_key("an"),
        keys.user_search_key("ana"),
    ]
    long_word = "x" * 40
    assert len(keys_for([Change("user_words", "insert", {"word": long_word})])) == 30


def test_a_row_missing_its_columns_names_what_it_can() -> None:
    assert keys_for([Change("media", "delete", {"id": 9})]) == [keys.media_key(9)]
    assert keys_for([Change("likes", "delete", {"id": 9})]) == []


def test_the_outbox_records_the_columns_the_rules_read() -> None:
    assert set(COLUMNS) == {
        "users",
        "user_words",
        "media",
        "follows",
        "likes",
        "sessions",
        "inbox_marks",
    }
    changes = [Change("likes", "insert", {"user_id": 2, "media_id": 7})]
    assert decode(encode(changes)) == changes
