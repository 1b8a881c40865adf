"""Reading request bodies within limits, and checking JSON objects against
the fields an endpoint accepts (unknown fields and wrong types are 400)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from gramstack.domain.errors import InvalidRequest, NotFound, TooLarge

MAX_ID = (1 << 63) - 1
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")


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


async def json_object(
    request: Request,
    limit: int,
    required: Mapping[str, type] | None = None,
    optional: Mapping[str, type] | None = None,
) -> dict[str, Any]:
    required = required or {}
    optional = optional or {}
    raw = await read_limited(request, limit)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidRequest("body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidRequest("body must be a JSON object")
    unknown = sorted(set(data) - set(required) - set(optional))
    if unknown:
        # Echo names only when they look like field names: an error message
        # is no place to reflect arbitrary client text.
        shown = [name for name in unknown if _FIELD_NAME.fullmatch(name)]
        detail = f": {', '.join(shown)}" if len(shown) == len(unknown) else ""
        raise InvalidRequest(f"unknown field(s){detail}")
    for name, kind in {**required, **optional}.items():
        if name not in data:
            if name in required:
                raise InvalidRequest(f"missing field: {name}")
            continue
        value = data[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise InvalidRequest(f"field {name} must be a {kind.__name__}")
        if isinstance(value, str) and not storable_text(value):
            raise InvalidRequest(f"field {name} is not valid text")
    return data


def storable_text(text: str) -> bool:
    """JSON allows lone surrogates (\\ud800) and NUL; no database stores them."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def path_id(request: Request, name: str, kind: str) -> int:
    """A decimal ID from the path; anything else names nothing (404)."""
    raw = request.path_params[name]
    if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise NotFound(kind, raw)
    value = int(raw)
    if value > MAX_ID:
        raise NotFound(kind, raw)
    return value
