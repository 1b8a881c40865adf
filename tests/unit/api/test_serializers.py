"""The memoized JSON renderings are the response structs, encoded: same
bytes, valid against the schemas, and never a stale copy of a record."""

from __future__ import annotations

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from gramstack.api import schemas, serializers
from gramstack.domain.models import MediaRecord, MediaView, Page, UserRecord, UserView
from gramstack.records import PhotoRecord

_IDS = st.integers(min_value=1, max_value=2**62)
_COUNTS = st.integers(min_value=0, max_value=10**9)
_MS = st.integers(min_value=0, max_value=4_000_000_000_000)
_TEXT = st.text(max_size=40)
_NAMES = st.from_regex(r"[a-z][a-z0-9_]{1,20}", fullmatch=True)

users = st.builds(
    UserRecord,
    id=_IDS,
    username=_NAMES,
    full_name=_TEXT,
    bio=_TEXT,
    created_at=_MS,
    follower_count=_COUNTS,
    following_count=_COUNTS,
    media_count=_COUNTS,
    avatar_id=st.none() | _IDS,
)
_PIXELS = st.integers(min_value=1, max_value=1080)
photos = st.builds(PhotoRecord, width=_PIXELS, height=_PIXELS, alt_text=_TEXT)
media_records = st.builds(
    MediaRecord,
    id=_IDS,
    owner_id=_IDS,
    caption=_TEXT,
    width=_PIXELS,
    height=_PIXELS,
    created_at=_MS,
    like_count=_COUNTS,
    comment_count=_COUNTS,
    photos=st.lists(photos, min_size=1, max_size=10).map(tuple),
    hashtags=st.lists(_NAMES, max_size=5).map(tuple),
    mentions=st.lists(_NAMES, max_size=5).map(tuple),
    edited_at=st.none() | _MS,
)
media_views = st.builds(MediaView, media_records, users, st.booleans())
user_views = st.builds(UserView, users, st.none() | st.booleans())
cursors = st.none() | st.text(alphabet="abcdefXYZ0123456789-_", min_size=1, max_size=30)


@given(media_views)
def test_media_json_is_the_media_struct_encoded(view: MediaView) -> None:
    rendered = serializers.media_json(view)
    assert bytes(rendered) == msgspec.json.encode(serializers.media(view))
    decoded = msgspec.json.decode(bytes(rendered), type=schemas.Media)
    assert decoded.liked_by_me is view.liked_by_me
    assert decoded.like_count == view.media.like_count
    assert decoded.owner.username == view.owner.username


@given(user_views)
def test_user_json_is_the_user_struct_encoded(view: UserView) -> None:
    rendered = bytes(serializers.user_json(view))
    assert rendered == msgspec.json.encode(serializers.user_view(view))
    document = msgspec.json.decode(rendered)
    # Anonymous: the flag is left out, not false.
    assert document.get("followed_by_me") == view.followed_by_me


@given(st.lists(media_views, max_size=5), cursors)
def test_media_page_encodes_as_the_schema_page(items: list[MediaView], cursor: str | None) -> None:
    page = Page(items, cursor)
    expected = schemas.MediaPage([serializers.media(v) for v in items], cursor)
    assert msgspec.json.encode(serializers.media_page(page)) == msgspec.json.encode(expected)


@given(st.lists(user_views, max_size=5), cursors)
def test_user_page_encodes_as_the_schema_page(items: list[UserView], cursor: str | None) -> None:
    page = Page(items, cursor)
    expected = schemas.UserPage([serializers.user_view(v) for v in items], cursor)
    assert msgspec.json.encode(serializers.user_page(page)) == msgspec.json.encode(expected)


def _post(**changes: object) -> MediaView:
    record = MediaRecord(
        id=7, owner_id=3, caption="sun #beach", width=640, height=480,
        created_at=1_700_000_000_000, like_count=1, comment_count=0,
        photos=(PhotoRecord(640, 480, ""),), hashtags=("beach",),
    )  # fmt: skip
    owner = UserRecord(3, "ana", "Ana", "", 1_600_000_000_000, 0, 0, 1)
    view = MediaView(record, owner, False)
    return msgspec.structs.replace(view, **changes)


def test_a_changed_record_is_rendered_again_not_served_from_the_memo() -> None:
    first = msgspec.json.decode(bytes(serializers.media_json(_post())))
    assert first["like_count"] == 1
    liked = msgspec.structs.replace(_post().media, like_count=2)
    second = msgspec.json.decode(bytes(serializers.media_json(_post(media=liked))))
    assert second["like_count"] == 2
    renamed = msgspec.structs.replace(_post().owner, username="ana_b")
    third = msgspec.json.decode(bytes(serializers.media_json(_post(owner=renamed))))
    assert third["owner"]["username"] == "ana_b"
    mine = msgspec.json.decode(bytes(serializers.media_json(_post(liked_by_me=True))))
    assert (mine["liked_by_me"], first["liked_by_me"]) == (True, False)


def test_equal_records_share_one_rendering() -> None:
    once = serializers.media_json(_post())
    # Equal values, built apart (as two decodes of one cached value would be).
    again = serializers.media_json(_post(media=msgspec.structs.replace(_post().media)))
    assert again is once
