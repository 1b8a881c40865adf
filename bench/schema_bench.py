"""Schema micro-benchmark: msgspec.Struct vs pydantic v2 vs today's dicts and
stdlib json, as ratios measured in one run.

(a) encode a 20-item media page (views -> response objects -> JSON bytes);
(b) decode and validate a sign-up body (JSON bytes -> checked fields: types,
    unknown fields, username pattern, password and full-name lengths).

"today" is the code this replaces: dict serializers and ``json.dumps`` as
Starlette's JSONResponse calls it; ``json.loads`` with per-field type checks
and the domain's validation functions.

Run: ``.venv/bin/pip install -e '.[bench]' && .venv/bin/python -m bench.schema_bench``.
"""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from gramstack.api import schemas, serializers
from gramstack.api.bodies import decode_json, storable_text
from gramstack.api.endpoints import encode
from gramstack.domain.media import STANDARD, THUMBNAIL, blob_key
from gramstack.domain.models import MediaRecord, MediaView, Page, UserRecord
from gramstack.domain.validation import (
    MAX_CAPTION,
    MAX_FULL_NAME,
    check_length,
    check_password,
    normalize_username,
)

JSON = dict[str, Any]


def media_page_views(items: int = 20) -> Page[MediaView]:
    owner = UserRecord(242761990722813952, "ana", "Ana Lopes", "sunsets", 1764600000123, 10, 5, 20)
    views = [
        MediaView(
            MediaRecord(
                242761990722813952 + n,
                owner.id,
                f"sunset #{n} at the beach",
                1080,
                810,
                1764600000123 + n,
                n * 3,
                n,
            ),
            owner,
            n % 2 == 0,
        )
        for n in range(items)
    ]
    return Page(views, "Zmxvd2VyczoxMjM0NTY3ODkwMTIzNDU2Nzg5")


SIGNUP_BODY = (
    b'{"username": "Ana.Lopes_1", "password": "correct horse battery", "full_name": "Ana"}'
)


# -- today: dicts and stdlib json ------------------------------------------------------


def _today_timestamp(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _today_user_ref(user: UserRecord) -> JSON:
    return {"id": str(user.id), "username": user.username}


def _today_media(view: MediaView) -> JSON:
    media = view.media
    return {
        "id": str(media.id),
        "owner": _today_user_ref(view.owner),
        "caption": media.caption,
        "created_at": _today_timestamp(media.created_at),
        "width": media.width,
        "height": media.height,
        "images": {
            "thumbnail": f"/media/{blob_key(media.id, THUMBNAIL)}",
            "standard": f"/media/{blob_key(media.id, STANDARD)}",
        },
        "like_count": media.like_count,
        "comment_count": media.comment_count,
        "liked_by_me": view.liked_by_me,
    }


def today_encode(page: Page[MediaView]) -> bytes:
    body = {"items": [_today_media(v) for v in page.items], "next_cursor": page.next_cursor}
    # As starlette.responses.JSONResponse.render does.
    return json.dumps(
        body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


def today_decode(raw: bytes) -> tuple[str, str, str]:
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    required, optional = {"username", "password"}, {"full_name"}
    if set(data) - required - optional or required - set(data):
        raise ValueError("unknown or missing fields")
    for value in data.values():
        if not isinstance(value, str) or not storable_text(value):
            raise ValueError("fields must be text")
    name = normalize_username(data["username"])
    check_password(data["password"])
    full_name = check_length("full_name", data.get("full_name", ""), MAX_FULL_NAME)
    return name, data["password"], full_name


# -- msgspec (what the server runs) ------------------------------------------------------


def msgspec_encode(page: Page[MediaView]) -> bytes:
    return encode(serializers.media_page(page))


def msgspec_decode(raw: bytes) -> schemas.SignUp:
    return decode_json(schemas.SignUp, raw)


# -- pydantic v2 ----------------------------------------------------------------------------

_IdP = Annotated[str, Field(pattern=schemas.ID_PATTERN)]


class UserRefP(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: _IdP
    username: str


class ImagesP(BaseModel):
    model_config = ConfigDict(extra="forbid")
    thumbnail: str
    standard: str


class MediaP(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: _IdP
    owner: UserRefP
    caption: Annotated[str, Field(max_length=MAX_CAPTION)]
    created_at: str
    width: Annotated[int, Field(ge=1, le=1080)]
    height: Annotated[int, Field(ge=1, le=1080)]
    images: ImagesP
    like_count: Annotated[int, Field(ge=0)]
    comment_count: Annotated[int, Field(ge=0)]
    liked_by_me: bool


class MediaPageP(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[MediaP]
    next_cursor: str | None


class SignUpP(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    username: Annotated[str, Field(pattern=schemas.USERNAME_PATTERN)]
    password: Annotated[str, Field(min_length=8, max_length=128)]
    full_name: Annotated[str, Field(max_length=MAX_FULL_NAME)] = ""


def _pydantic_media(view: MediaView) -> MediaP:
    media = view.media
    return MediaP(
        id=str(media.id),
        owner=UserRefP(id=str(view.owner.id), username=view.owner.username),
        caption=media.caption,
        created_at=serializers.timestamp(media.created_at),
        width=media.width,
        height=media.height,
        images=ImagesP(
            thumbnail=f"/media/{blob_key(media.id, THUMBNAIL)}",
            standard=f"/media/{blob_key(media.id, STANDARD)}",
        ),
        like_count=media.like_count,
        comment_count=media.comment_count,
        liked_by_me=view.liked_by_me,
    )


def pydantic_encode(page: Page[MediaView]) -> bytes:
    body = MediaPageP(items=[_pydantic_media(v) for v in page.items], next_cursor=page.next_cursor)
    return body.model_dump_json().encode()


def pydantic_decode(raw: bytes) -> SignUpP:
    return SignUpP.model_validate_json(raw)


# -- the run ------------------------------------------------------------------------------------


def per_second(fn: Callable[[], object], seconds: float = 0.4, repeats: int = 5) -> float:
    loops = max(1, int(seconds / max(timeit.timeit(fn, number=20) / 20, 1e-9)))
    best = min(timeit.repeat(fn, number=loops, repeat=repeats))
    return loops / best


def main() -> None:
    page = media_page_views()
    # The three must agree before their speed means anything.
    assert json.loads(today_encode(page)) == json.loads(msgspec_encode(page))
    assert json.loads(pydantic_encode(page)) == json.loads(msgspec_encode(page))
    assert msgspec_decode(SIGNUP_BODY).username == pydantic_decode(SIGNUP_BODY).username
    assert today_decode(SIGNUP_BODY)[0] == "ana.lopes_1"
    rows: list[tuple[str, dict[str, float]]] = [
        (
            "encode a 20-item media page",
            {
                "today (dicts + json)": per_second(lambda: today_encode(page)),
                "msgspec.Struct": per_second(lambda: msgspec_encode(page)),
                "pydantic v2": per_second(lambda: pydantic_encode(page)),
            },
        ),
        (
            "decode + validate a sign-up body",
            {
                "today (dicts + json)": per_second(lambda: today_decode(SIGNUP_BODY)),
                "msgspec.Struct": per_second(lambda: msgspec_decode(SIGNUP_BODY)),
                "pydantic v2": per_second(lambda: pydantic_decode(SIGNUP_BODY)),
            },
        ),
    ]
    print(f"msgspec {msgspec.__version__}, pydantic {__import__('pydantic').VERSION}")
    for title, results in rows:
        base = results["today (dicts + json)"]
        print(f"\n{title}")
        for name, rate in results.items():
            print(f"  {name:22} {rate:>12,.0f} /s   {rate / base:5.2f}x of today")
        m, p = results["msgspec.Struct"], results["pydantic v2"]
        print(f"  msgspec / pydantic     {m / p:5.2f}x")


if __name__ == "__main__":
    main()
