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


def test_a_timeline_write_evicts_its_cached_first_page() -> None:
    assert keys_for([Change("timeline_marks", "update", {"user_id": 5})]) == [keys.timeline_key(5)]
    assert keys_for([Change("timeline_marks", "delete", {"user_id": 5})]) == [keys.timeline_key(5)]
    assert keys_for([Change("timeline_marks", "update", {})]) == []


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
        "timeline_marks",
        "media_tags",
    }
    changes = [Change("likes", "insert", {"user_id": 2, "media_id": 7})]
    assert decode(encode(changes)) == changes


def test_a_tagged_post_evicts_the_tag_its_page_and_its_search_prefixes() -> None:
    found = keys_for([Change("media_tags", "insert", {"tag": "bondi", "media_id": 7})])
    assert found == [
        keys.tag_key("bondi"),
        keys.tag_media_key("bondi"),
        *(keys.tag_search_key(p) for p in ("b", "bo", "bon", "bond", "bondi")),
    ]
    long_tag = "x" * 100
    evicted = keys_for([Change("media_tags", "delete", {"tag": long_tag, "media_id": 7})])
    assert len(evicted) == 2 + keys.TAG_SEARCH_CACHED_PREFIX


def test_tag_keys_are_ascii_without_spaces() -> None:
    for tag in ("日本_café", "日" * 100, "a" * 100):
        for key in (keys.tag_key(tag), keys.tag_media_key(tag), keys.tag_search_key(tag)):
            assert key.isascii() and " " not in key and len(key) <= 250
    assert keys.tag_key("日" * 100) != keys.tag_key("日" * 99)
