"""Field rules of api.md, in one place for every use case."""

from __future__ import annotations

import re

from gramstack.domain.errors import ValidationFailed

# api.md: 1..30 of [a-z0-9._], at least one letter or digit, no leading or
# trailing '.', no "..": dot-separated runs of [a-z0-9_], one holding a letter
# or digit. The API schema states the same rule (``USERNAME_PATTERN``).
USERNAME_RULE = r"(_+\.)*_*[a-z0-9][a-z0-9_]*(\.[a-z0-9_]+)*"
_USERNAME = re.compile(USERNAME_RULE)
MAX_USERNAME = 30
USERNAME_HELP = (
    "must be 1 to 30 characters of a-z, 0-9, '.' and '_', with a letter or digit,"
    " not starting or ending with '.' and without '..'"
)
MAX_FULL_NAME = 64
MAX_BIO = 150
MAX_CAPTION = 2200
MAX_COMMENT = 2200


def normalize_username(raw: str) -> str:
    username = raw.lower()
    # ASCII first: some non-ASCII letters lowercase to ASCII (K, the Kelvin sign).
    if not raw.isascii() or len(username) > MAX_USERNAME or not _USERNAME.fullmatch(username):
        raise ValidationFailed("username", USERNAME_HELP)
    return username


def check_password(password: str) -> None:
    if not 8 <= len(password) <= 128:
        raise ValidationFailed("password", "must be 8 to 128 characters")


def check_length(field: str, value: str, maximum: int, minimum: int = 0) -> str:
    if not minimum <= len(value) <= maximum:
        if minimum:
            raise ValidationFailed(field, f"must be {minimum} to {maximum} characters")
        raise ValidationFailed(field, f"must be at most {maximum} characters")
    return value
