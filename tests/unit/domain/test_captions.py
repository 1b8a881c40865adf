"""The hashtag and mention parser of api.md, by example and by property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gramstack.domain.captions import (
    MAX_MENTIONS,
    MAX_TAGS,
    check_hashtags,
    check_mentions,
    hashtags,
    mention_candidates,
    normalize_tag,
)
from gramstack.domain.errors import ValidationFailed

USERNAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789._"
usernames = st.text(USERNAME_CHARS, min_size=1, max_size=30).filter(
    lambda n: (
        not n.startswith(".")
        and not n.endswith(".")
        and ".." not in n
        and any(c.isalnum() for c in n)
    )
)
tag_chars = st.characters(categories=("Lu", "Ll", "Lo", "Nd")) | st.just("_")
tags = st.text(tag_chars, min_size=1, max_size=100)
separators = st.sampled_from([" ", "\n", ", ", "! ", "(", ")", " - "])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#Bondi #BONDI", ["bondi"]),
        ("sunset at #bondi with @bo", ["bondi"]),
        ("#a#b", ["a", "b"]),
        ("# #! ##", []),
        ("#日本 #café_2", ["日本", "café_2"]),
        ("#" + "x" * 100, ["x" * 100]),
        ("#" + "x" * 101, []),
    ],
)
def test_hashtag_examples(text: str, expected: list[str]) -> None:
    assert hashtags(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@bo", ["bo"]),
        ("hi @Bo.", ["bo"]),
        ("hi @bo... and @ana_1!", ["bo", "ana_1"]),
        ("mail me: ana@bo.com", []),
        ("a.@bo _@bo x@bo", []),
        ("(@bo) @bo", ["bo"]),
        ("@.bo @bo..x @" + "a" * 31, []),
        ("@anaé", []),
    ],
)
def test_mention_examples(text: str, expected: list[str]) -> None:
    assert mention_candidates(text) == expected


@given(st.lists(tags, min_size=1, max_size=8), separators)
def test_every_written_tag_is_found_lowercased_once_in_order(
    written: list[str], separator: str
) -> None:
    text = separator.join(f"#{t}" for t in written + written)
    assert hashtags(text) == list(dict.fromkeys(t.lower() for t in written))


@given(st.text(max_size=300))
def test_found_tags_are_distinct_lowercase_runs_of_the_text(text: str) -> None:
    found = hashtags(text)
    assert len(found) == len(set(found))
    lowered = text.lower()
    for tag in found:
        assert f"#{tag}" in lowered
        assert tag == tag.lower() and len(tag) >= 1


@given(st.lists(usernames, min_size=1, max_size=5), separators, st.booleans())
def test_mentions_after_a_boundary_are_found(
    names: list[str], separator: str, end_sentence: bool
) -> None:
    text = separator.join(f"@{n.upper()}" for n in names) + ("." if end_sentence else "")
    assert mention_candidates(text) == list(dict.fromkeys(names))


@given(usernames, st.characters(categories=("Lu", "Ll", "Nd")) | st.sampled_from("._"))
def test_no_mention_right_after_a_word_character(name: str, before: str) -> None:
    assert mention_candidates(f"{before}@{name}") == []


@given(st.text(max_size=300))
def test_candidates_are_valid_usernames_preceded_by_a_boundary(text: str) -> None:
    for name in mention_candidates(text):
        assert 1 <= len(name) <= 30 and set(name) <= set(USERNAME_CHARS)
        assert not name.startswith(".") and not name.endswith(".") and ".." not in name


@given(tags)
def test_a_tag_path_names_the_tag_lowercased(tag: str) -> None:
    assert normalize_tag(tag) == tag.lower()
    assert normalize_tag(tag + "!") is None


def test_limits_are_422() -> None:
    check_hashtags("caption", " ".join(f"#t{i}" for i in range(MAX_TAGS)))
    with pytest.raises(ValidationFailed):
        check_hashtags("caption", " ".join(f"#t{i}" for i in range(MAX_TAGS + 1)))
    check_mentions("text", [f"u{i}" for i in range(MAX_MENTIONS)])
    with pytest.raises(ValidationFailed):
        check_mentions("text", [f"u{i}" for i in range(MAX_MENTIONS + 1)])
