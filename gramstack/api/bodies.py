"""Reading request bodies within limits, and decoding JSON bodies into the
request structs of ``gramstack.api.schemas`` with api.md's errors: malformed
JSON, wrong types, unknown or missing fields and unstorable text are 400
``invalid_request``; a well-typed value out of its declared range is 422
``validation_failed`` naming the field and its rule."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec
import msgspec.inspect
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from gramstack.domain.errors import InvalidRequest, NotFound, TooLarge, ValidationFailed

MAX_ID = (1 << 63) - 1
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
# msgspec's ValidationError texts, e.g. "Expected `str`, got `int` - at `$.bio`".
_AT_FIELD = re.compile(r" - at `\$\.([A-Za-z_][A-Za-z0-9_]*)`$")
_WRONG_TYPE = re.compile(r"^Expected `([^`]+)`, got `[^`]+`")
_UNKNOWN = re.compile(r"^Object contains unknown field `(.*)`")
_MISSING = re.compile(r"^Object missing required field `(.*)`")

StructT = TypeVar("StructT", bound=msgspec.Struct)


def declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    if not raw.isdigit():
        raise InvalidRequest("bad Content-Length header")
    return int(raw)


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refusing as soon as it is known to exceed ``limit`` bytes."""
    length = declared_length(request)
    if length is not None and length > limit:
        raise TooLarge(f"request body is over {limit} bytes", limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"request body is over {limit} bytes", limit)
        chunks.append(chunk)
    return b"".join(chunks)


def storable_text(text: str) -> bool:
    """JSON allows lone surrogates (\\ud800) and NUL; no database stores them."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Utf8MultiPartParser(MultiPartParser):
    """Starlette's parser, except that a text part which is not valid UTF-8
    is refused: Starlette falls back to Latin-1, which would store mojibake
    that the client never sent."""

    def on_part_end(self) -> None:
        part = self._current_part
        if part.file is None:
            try:
                text = bytes(part.data).decode("utf-8")
            except UnicodeDecodeError:
                raise MultiPartException(f"part {part.field_name!r} is not valid UTF-8") from None
            self.items.append((part.field_name, text))
            return
        super().on_part_end()


async def read_multipart(request: Request, *, max_files: int, max_fields: int) -> FormData:
    """The multipart body, text parts decoded as strict UTF-8 (400 when not);
    the caller closes the returned form (its files)."""
    parser = _Utf8MultiPartParser(
        request.headers, request.stream(), max_files=max_files, max_fields=max_fields
    )
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise InvalidRequest(exc.message) from None


@functools.cache
def _decoder(kind: type[StructT]) -> msgspec.json.Decoder[StructT]:
    return msgspec.json.Decoder(kind)


def build_decoders(kinds: Iterable[type[msgspec.Struct]]) -> None:
    """Build the decoders of these body kinds, and the rules their 422s
    quote, now rather than on each process's first request: the app does
    this as it is built, so a prefork master builds them for its workers."""
    for kind in kinds:
        _decoder(kind)
        _rules(kind)


@functools.cache
def _rules(kind: type[msgspec.Struct]) -> dict[str, str]:
    """Field name -> the rule a person reads in a 422 (the field's description)."""
    info = msgspec.inspect.type_info(kind)
    assert isinstance(info, msgspec.inspect.StructType)
    rules: dict[str, str] = {}
    for field in info.fields:
        found = [field.type]
        while found:
            node = found.pop()
            if isinstance(node, msgspec.inspect.Metadata):
                description = (node.extra_json_schema or {}).get("description")
                if isinstance(description, str):
                    rules[field.encode_name] = f"must be {description}"
                    break
                found.append(node.type)
            elif isinstance(node, msgspec.inspect.UnionType):
                found.extend(node.types)
    return rules


def _unstorable_field(raw: bytes) -> str | None:
    """The first top-level string field holding text no database stores."""
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    if isinstance(data, dict):
        for name, value in data.items():
            if isinstance(value, str) and not storable_text(value):
                return str(name)
    return None


def _shown(name: str) -> str:
    # Echo names only when they look like field names: an error message is
    # no place to reflect arbitrary client text.
    return f": {name}" if _FIELD_NAME.fullmatch(name) else ""


def _refusal(kind: type[msgspec.Struct], raw: bytes, error: msgspec.ValidationError) -> Exception:
    text = str(error)
    at = _AT_FIELD.search(text)
    field = at.group(1) if at else None
    if (unknown := _UNKNOWN.match(text)) is not None:
        return InvalidRequest(f"unknown field(s){_shown(unknown.group(1))}")
    if (missing := _MISSING.match(text)) is not None:
        return InvalidRequest(f"missing field{_shown(missing.group(1))}")
    if field is None:
        return InvalidRequest("body must be a JSON object")
    if (wrong := _WRONG_TYPE.match(text)) is not None:
        expected = wrong.group(1).replace(" | null", "")
        return InvalidRequest(f"field {field} must be a {expected}")
    # A constraint: out of range (422), unless the text is not even
    # storable (400, as it would be had the value been in range).
    if (bad := _unstorable_field(raw)) is not None:
        return InvalidRequest(f"field {bad} is not valid text")
    return ValidationFailed(field, _rules(kind).get(field, "is out of range"))


def decode_json(kind: type[StructT], raw: bytes) -> StructT:
    try:
        body: StructT = _decoder(kind).decode(raw)
    except msgspec.ValidationError as error:
        raise _refusal(kind, raw, error) from None
    except (msgspec.DecodeError, RecursionError):
        raise InvalidRequest("body is not valid JSON") from None
    # msgspec refuses lone surrogates and raw control bytes as malformed JSON,
    # so the one unstorable text left is NUL, and only its escape makes one.
    if b"\\u0000" in raw:
        for name in kind.__struct_fields__:
            value = getattr(body, name)
            if isinstance(value, str) and not storable_text(value):
                raise InvalidRequest(f"field {name} is not valid text")
    return body


async def json_body(request: Request, limit: int, kind: type[StructT]) -> StructT:
    return decode_json(kind, await read_limited(request, limit))


def path_id(request: Request, kind: str, name: str = "id") -> int:
    """A decimal ID from the path; anything else names nothing (404)."""
    raw: Any = request.path_params[name]
    if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise NotFound(kind, raw)
    value = int(raw)
    if value > MAX_ID:
        raise NotFound(kind, raw)
    return value
