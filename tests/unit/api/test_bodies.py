"""Request bodies decoded into msgspec structs give api.md's errors."""

from __future__ import annotations

import msgspec
import pytest

from gramstack.api import schemas
from gramstack.api.bodies import decode_json
from gramstack.domain.errors import InvalidRequest, ValidationFailed

PASSWORD = "correct horse battery"


def test_a_valid_body_decodes_with_its_defaults() -> None:
    body = decode_json(schemas.SignUp, b'{"username": "Ana", "password": "%s"}' % PASSWORD.encode())
    assert body == schemas.SignUp(username="Ana", password=PASSWORD, full_name="")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{", "body is not valid JSON"),
        (b'{"username": "a\\ud800", "password": "x"}', "body is not valid JSON"),
        (b"[1]", "body must be a JSON object"),
        (b'{"username": "ana", "password": 12345678}', "field password must be a str"),
        (
            b'{"username": "ana", "password": "%s", "admin": true}' % PASSWORD.encode(),
            "unknown field(s): admin",
        ),
        (
            b'{"username": "ana", "password": "%s", "<b>": 1}' % PASSWORD.encode(),
            "unknown field(s)",
        ),
        (b'{"password": "%s"}' % PASSWORD.encode(), "missing field: username"),
        (b'{"username": "ana", "password": "a\\u0000bcdefgh"}', "field password is not valid text"),
        # Unstorable and too short: the malformed text wins, as it did before.
        (b'{"username": "ana", "password": "a\\u0000"}', "field password is not valid text"),
    ],
)
def test_malformed_bodies_are_invalid_requests(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        decode_json(schemas.SignUp, raw)
    assert not isinstance(refused.value, ValidationFailed)
    assert refused.value.message == message


@pytest.mark.parametrize(
    ("kind", "raw", "field", "rule"),
    [
        (
            schemas.SignUp,
            b'{"username": "a b", "password": "%s"}' % PASSWORD.encode(),
            "username",
            "1 to 30 characters of a-z, 0-9, '.' and '_' (case-insensitive), with a"
            " letter or digit, not starting or ending with '.', without '..'",
        ),
        (
            schemas.SignUp,
            b'{"username": "ana", "password": "short"}',
            "password",
            "8 to 128 characters",
        ),
        (schemas.ProfileUpdate, b'{"bio": "%s"}' % (b"x" * 151), "bio", "at most 150 characters"),
        (schemas.NewComment, b'{"text": ""}', "text", "1 to 2200 characters, not all whitespace"),
    ],
)
def test_out_of_range_values_are_422_naming_the_field(
    kind: type[msgspec.Struct], raw: bytes, field: str, rule: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        decode_json(kind, raw)
    assert refused.value.field == field
    assert refused.value.message == f"{field}: must be {rule}"


def test_optional_fields_may_be_absent_but_not_null() -> None:
    assert decode_json(schemas.ProfileUpdate, b"{}").bio is msgspec.UNSET
    with pytest.raises(InvalidRequest, match="field bio must be a str"):
        decode_json(schemas.ProfileUpdate, b'{"bio": null}')
