"""Hashtags and mentions in captions and comments, as api.md defines them.

- A hashtag is ``#`` and a run of 1..100 Unicode letters, digits or ``_``;
  a longer run is no hashtag at all. Tags compare lowercased.
- A mention is ``@`` at the start of the text or after a character that is
  not a letter, digit, ``_`` or ``.``, then a username; dots that end the
  run end the sentence, not the name. Which candidates are mentions (their
  user exists) is the caller's question: this module does no I/O.

Both are listed once each, in order of first appearance.
"""

from __future__ import annotations

import unicodedata

from gramstack.domain.errors import ValidationFailed

MAX_TAG = 100
MAX_TAGS = 30
MAX_MENTIONS = 20
MAX_USERNAME = 30
_USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._")


def _is_word(char: str) -> bool:
    """A Unicode letter or decimal digit, or ``_``."""
    return char == "_" or unicodedata.category(char)[0] == "L" or unicodedata.category(char) == "Nd"


def _tag_run(text: str, start: int) -> int:
    end = start
    while end < len(text) and _is_word(text[end]):
        end += 1
    return end


def hashtags(text: str) -> list[str]:
    found: dict[str, None] = {}
    at = text.find("#")
    while at != -1:
        end = _tag_run(text, at + 1)
        if 1 <= end - at - 1 <= MAX_TAG:
            found.setdefault(text[at + 1 : end].lower())
        at = text.find("#", max(end, at + 1))
    return list(found)


def normalize_tag(raw: str) -> str | None:
    """The tag a ``/tags/{name}`` path names, None if it cannot be one."""
    if not 1 <= len(raw) <= MAX_TAG or _tag_run(raw, 0) != len(raw):
        return None
    return raw.lower()


def _valid_username(name: str) -> bool:
    return (
        1 <= len(name) <= MAX_USERNAME
        and not name.startswith(".")
        and not name.endswith(".")
        and ".." not in name
        and any(c.isalnum() for c in name)
    )


def mention_candidates(text: str) -> list[str]:
    """Lowercased usernames the text may mention (whether they exist is not checked)."""
    found: dict[str, None] = {}
    at = text.find("@")
    while at != -1:
        end = at + 1
        while end < len(text) and text[end] in _USERNAME_CHARS:
            end += 1
        before_ok = at == 0 or not (_is_word(text[at - 1]) or text[at - 1] == ".")
        after_ok = end == len(text) or not _is_word(text[end])
        name = text[at + 1 : end].rstrip(".")
        if before_ok and after_ok and _valid_username(name):
            found.setdefault(name.lower())
        at = text.find("@", at + 1)
    return list(found)


def check_hashtags(field: str, text: str) -> list[str]:
    tags = hashtags(text)
    if len(tags) > MAX_TAGS:
        raise ValidationFailed(field, f"has {len(tags)} hashtags, more than {MAX_TAGS}")
    return tags


def check_mentions(field: str, mentioned: list[str]) -> list[str]:
    if len(mentioned) > MAX_MENTIONS:
        raise ValidationFailed(field, f"mentions {len(mentioned)} people, more than {MAX_MENTIONS}")
    return mentioned
