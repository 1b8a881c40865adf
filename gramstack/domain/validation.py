"""Field rules of api.md, in one place for every use case."""

from __future__ import annotations

import re

from gramstack.domain.errors import ValidationFailed

_USERNAME = re.compile(r"[a-z0-9._]{1,30}")
MAX_FULL_NAME = 64
MAX_BIO = 150
MAX_CAPTION = 2200
MAX_COMMENT = 2200


def normalize_username(raw: str) -> str:
    username = raw.lower()
    # ASCII first: some non-ASCII letters lowercase to ASCII (K, the Kelvin sign).
    if not raw.isascii() or not _USERNAME.fullmatch(username):
        raise ValidationFailed("username", "must be 1 to 30 characters of a-z, 0-9, '.' and '_'")
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
