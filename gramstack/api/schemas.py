"""Request and response bodies of api.md, declared once as msgspec types.

The same declaration decodes and checks a request, encodes a response and
becomes the JSON Schema of the OpenAPI document. Every constraint the server
enforces is written on the field it constrains, so the document states it:
the domain (``gramstack.domain.validation``) still enforces the business
rules, with the same limits imported from there.

Request structs forbid unknown fields; response structs omit ``UNSET``
fields (``followed_by_me`` on anonymous requests).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from gramstack.domain.captions import MAX_MENTIONS, MAX_TAGS
from gramstack.domain.media import MAX_ALT_TEXT, MAX_PHOTOS
from gramstack.domain.pagination import MAX_CURSOR_LENGTH
from gramstack.domain.validation import (
    MAX_BIO,
    MAX_CAPTION,
    MAX_COMMENT,
    MAX_FULL_NAME,
    MAX_USERNAME,
    USERNAME_RULE,
)
from gramstack.domain.webhooks import MAX_URL_LENGTH, URL_PATTERN

# Text a database can store: JSON may carry NUL and lone surrogates (\ud800);
# neither PostgreSQL nor UTF-8 can hold them, so such text is refused (400).
# A lone surrogate is not Unicode text at all, so only NUL needs stating.
# Patterns use \uXXXX escapes only: Python, ECMA-262 and Rust's regex (the
# validators OpenAPI tools use) read them alike.
STORABLE_CHAR = r"[^\u0000]"
STORABLE_TEXT = rf"^{STORABLE_CHAR}*$"
# What str.isspace() calls whitespace, the test of the domain's "not blank"
# rule (it differs from Unicode's White_Space, so it is spelled out).
_SPACES = "".join(f"\\u{ord(c):04x}" for c in map(chr, range(0x10000)) if c.isspace())
NOT_BLANK_TEXT = rf"^{STORABLE_CHAR}*[^{_SPACES}\u0000]{STORABLE_CHAR}*$"

ID_PATTERN = "^[0-9]{1,19}$"
# The domain's rule (lowercase) with either case accepted; the length is
# stated beside it (minLength/maxLength), as a regex cannot count it here.
USERNAME_PATTERN = "^" + USERNAME_RULE.replace("a-z0-9", "A-Za-z0-9") + "$"
STORED_USERNAME_PATTERN = f"^{USERNAME_RULE}$"
CURSOR_PATTERN = f"^[A-Za-z0-9_-]{{1,{MAX_CURSOR_LENGTH}}}$"


def text(max_length: int, min_length: int = 0, pattern: str = STORABLE_TEXT) -> object:
    """A ``Meta`` for request text: lengths enforced (422), storability stated."""
    rule = f"{min_length} to {max_length}" if min_length else f"at most {max_length}"
    # The pattern is stated, not enforced by msgspec: unstorable text is a
    # malformed request (400), which bodies.py checks before the lengths.
    return Meta(
        min_length=min_length or None,
        max_length=max_length,
        description=f"{rule} characters",
        extra_json_schema={"pattern": pattern},
    )


Id = Annotated[str, Meta(pattern=ID_PATTERN, description="64-bit ID as a decimal string")]
Timestamp = Annotated[
    str, Meta(extra_json_schema={"format": "date-time"}, description="RFC 3339, UTC, ms")
]
Count = Annotated[int, Meta(ge=0)]
Pixels = Annotated[int, Meta(ge=1, le=1080)]
StoredUsername = Annotated[
    str, Meta(pattern=STORED_USERNAME_PATTERN, min_length=1, max_length=MAX_USERNAME)
]


# -- responses ------------------------------------------------------------------------


class ErrorDetail(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, Meta(pattern="^[a-z][a-z0-9_]*$")]
    message: str


class Error(msgspec.Struct, forbid_unknown_fields=True):
    """Every error body of api.md."""

    error: ErrorDetail


class UserRef(msgspec.Struct, forbid_unknown_fields=True):
    id: Id
    username: StoredUsername


class Avatar(msgspec.Struct, forbid_unknown_fields=True):
    """A square center crop of the uploaded photo, scaled up or down."""

    thumbnail: Annotated[str, Meta(pattern="^/media/", description="150x150 px, GET without auth")]
    standard: Annotated[str, Meta(pattern="^/media/", description="320x320 px, GET without auth")]


class User(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    id: Id
    username: StoredUsername
    full_name: Annotated[str, Meta(max_length=MAX_FULL_NAME)]
    bio: Annotated[str, Meta(max_length=MAX_BIO)]
    created_at: Timestamp
    follower_count: Count
    following_count: Count
    media_count: Count
    avatar: Annotated[Avatar | None, Meta(description="null until an avatar is uploaded")]
    followed_by_me: Annotated[
        bool | UnsetType, Meta(description="Present only when the request is authenticated.")
    ] = UNSET


class Images(msgspec.Struct, forbid_unknown_fields=True):
    thumbnail: Annotated[str, Meta(pattern="^/media/", description="<=150 px, GET without auth")]
    medium: Annotated[str, Meta(pattern="^/media/", description="<=640 px, GET without auth")]
    standard: Annotated[str, Meta(pattern="^/media/", description="<=1080 px, GET without auth")]


AltTextOut = Annotated[str, Meta(max_length=MAX_ALT_TEXT)]
TagName = Annotated[
    str,
    Meta(
        min_length=1,
        description="Unicode letters, digits and _, lowercase, without the #",
    ),
]


class Photo(msgspec.Struct, forbid_unknown_fields=True):
    width: Pixels
    height: Pixels
    alt_text: AltTextOut
    images: Images


class Media(msgspec.Struct, forbid_unknown_fields=True):
    id: Id
    owner: UserRef
    caption: Annotated[str, Meta(max_length=MAX_CAPTION)]
    created_at: Timestamp
    edited_at: Timestamp | None
    width: Annotated[int, Meta(ge=1, le=1080, description="Of the first photo")]
    height: Annotated[int, Meta(ge=1, le=1080, description="Of the first photo")]
    alt_text: Annotated[str, Meta(max_length=MAX_ALT_TEXT, description="Of the first photo")]
    images: Annotated[Images, Meta(description="Of the first photo")]
    photos: Annotated[list[Photo], Meta(min_length=1, max_length=MAX_PHOTOS)]
    hashtags: Annotated[
        list[TagName], Meta(max_length=MAX_TAGS, description="In order of first appearance")
    ]
    mentions: Annotated[
        list[StoredUsername],
        Meta(max_length=MAX_MENTIONS, description="Existing users, in order of first appearance"),
    ]
    like_count: Count
    comment_count: Count
    liked_by_me: Annotated[bool, Meta(description="Always present; false when anonymous.")]


class Comment(msgspec.Struct, forbid_unknown_fields=True):
    id: Id
    media_id: Id
    author: UserRef
    text: Annotated[str, Meta(min_length=1, max_length=MAX_COMMENT)]
    created_at: Timestamp


class Activity(msgspec.Struct, forbid_unknown_fields=True):
    id: Id
    type: Literal["like", "comment", "follow", "mention"]
    actor: UserRef
    media_id: Id | None
    created_at: Timestamp
    comment_id: Annotated[
        Id | None, Meta(description="For a comment, or a mention made in one; else null")
    ] = None
    text: Annotated[
        str | None, Meta(description="That comment's text (a comment or a mention in one)")
    ] = None


class Session(msgspec.Struct, forbid_unknown_fields=True):
    user: User
    token: str


class LikeState(msgspec.Struct, forbid_unknown_fields=True):
    liked: bool
    like_count: Count


NextCursor = Annotated[
    str | None,
    Meta(description="Pass as `cursor` for the next page; null on the last page."),
]


class UserPage(msgspec.Struct, forbid_unknown_fields=True):
    items: list[User]
    next_cursor: NextCursor


class MediaPage(msgspec.Struct, forbid_unknown_fields=True):
    items: list[Media]
    next_cursor: NextCursor


class CommentPage(msgspec.Struct, forbid_unknown_fields=True):
    items: list[Comment]
    next_cursor: NextCursor


class ActivityPage(msgspec.Struct, forbid_unknown_fields=True):
    items: list[Activity]
    next_cursor: NextCursor


class Tag(msgspec.Struct, forbid_unknown_fields=True):
    name: TagName
    media_count: Count


class TagPage(msgspec.Struct, forbid_unknown_fields=True):
    items: list[Tag]
    next_cursor: Annotated[None, Meta(description="Always null: one page, up to `limit`")]


class Suggestions(msgspec.Struct, forbid_unknown_fields=True):
    items: list[User]
    next_cursor: Annotated[None, Meta(description="Always null: one page.")]


class UnreadCount(msgspec.Struct, forbid_unknown_fields=True):
    count: Annotated[
        int,
        Meta(
            ge=0,
            le=100,
            description="Activity items newer than the seen mark, counted up to 100"
            " (100 means 100 or more)",
        ),
    ]


class Health(msgspec.Struct, forbid_unknown_fields=True):
    status: Literal["ok"]


class Readiness(msgspec.Struct, forbid_unknown_fields=True):
    status: Literal["ok"]
    checks: dict[str, str]
    # Other regions' stores by name, "ok" or "down": shown, never required.
    remote: dict[str, str]


class NotReady(msgspec.Struct, forbid_unknown_fields=True):
    """503 of ``/readyz``: the error shape plus which backend is failing."""

    error: ErrorDetail
    checks: dict[str, str]
    remote: dict[str, str]


# -- requests ---------------------------------------------------------------------------

Username = Annotated[
    str,
    Meta(
        pattern=USERNAME_PATTERN,
        min_length=1,
        max_length=MAX_USERNAME,
        description="1 to 30 characters of a-z, 0-9, '.' and '_' (case-insensitive), with a"
        " letter or digit, not starting or ending with '.', without '..'",
    ),
]
Password = Annotated[str, text(128, 8)]
FullName = Annotated[str, text(MAX_FULL_NAME)]
Bio = Annotated[str, text(MAX_BIO)]
Caption = Annotated[str, text(MAX_CAPTION)]
CommentText = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_COMMENT,
        description=f"1 to {MAX_COMMENT} characters, not all whitespace",
        extra_json_schema={"pattern": NOT_BLANK_TEXT},
    ),
]
# Log-in takes any text: a wrong name is just a failed log-in (401).
AnyText = Annotated[str, Meta(extra_json_schema={"pattern": STORABLE_TEXT})]


class SignUp(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    password: Password
    full_name: FullName = ""


class LogIn(msgspec.Struct, forbid_unknown_fields=True):
    username: AnyText
    password: AnyText


class ProfileUpdate(msgspec.Struct, forbid_unknown_fields=True):
    full_name: FullName | UnsetType = UNSET
    bio: Bio | UnsetType = UNSET


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    current_password: AnyText
    new_password: Password


class AccountDeletion(msgspec.Struct, forbid_unknown_fields=True):
    password: AnyText


class SeenMark(msgspec.Struct, forbid_unknown_fields=True):
    """`up_to`: the ID of one of the caller's activity items."""

    up_to: Id


class NewComment(msgspec.Struct, forbid_unknown_fields=True):
    text: CommentText


# Lengths are the domain's to check (422): msgspec would report an item of a
# list as a malformed body.
AltTextIn = Annotated[
    str,
    Meta(
        description=f"at most {MAX_ALT_TEXT} characters",
        extra_json_schema={"maxLength": MAX_ALT_TEXT, "pattern": STORABLE_TEXT},
    ),
]


class Upload(msgspec.Struct, forbid_unknown_fields=True):
    """The multipart form of `POST /api/v1/media`: `file` 1 to 10 times (in
    order), `alt_text` not at all or once per `file`, an optional `caption`.

    Each part is declared once, as one part: a repeated part is OpenAPI's
    array, but an array hides from clients and fuzzers that each item is a
    file part with its own filename and image type, and no schema can tie the
    number of `alt_text` parts to the number of `file` parts."""

    file: Annotated[
        bytes,
        Meta(
            description="A still JPEG, PNG or WebP image, not empty. Repeat the part for a"
            " carousel: 1 to 10 photos, in order (11 or more is 400)",
            # The raw bytes of the part (msgspec would describe base64 text).
            extra_json_schema={"format": "binary", "minLength": 1},
        ),
    ]
    caption: Caption = ""
    alt_text: Annotated[
        str,
        Meta(
            max_length=MAX_ALT_TEXT,
            description=f"at most {MAX_ALT_TEXT} characters (else 422). Send it not at all,"
            " or exactly once per `file` part, in the same order (else 400)",
            extra_json_schema={"pattern": STORABLE_TEXT},
        ),
    ] = ""


class MediaEdit(msgspec.Struct, forbid_unknown_fields=True):
    caption: Caption | UnsetType = UNSET
    alt_texts: (
        Annotated[
            list[AltTextIn],
            Meta(description="exactly one text per photo, in order (else 422)"),
        ]
        | UnsetType
    ) = UNSET


class AvatarUpload(msgspec.Struct, forbid_unknown_fields=True):
    """The multipart form of `PUT /api/v1/me/avatar`: one `file` part."""

    file: Annotated[
        bytes,
        Meta(
            description="A still JPEG, PNG or WebP image, not empty",
            extra_json_schema={"format": "binary", "minLength": 1},
        ),
    ]


# -- path and query parameters --------------------------------------------------------------

Rendition = Literal["thumb.jpg", "medium.jpg", "std.jpg"]
PhotoIndex = Annotated[int, Meta(ge=1, le=9, description="Photo 2 to 10 of a carousel (0-based)")]
TagQuery = Annotated[
    str,
    Meta(
        min_length=1, max_length=100, description="The start of a hashtag (a leading # is ignored)"
    ),
]
PageLimit = Annotated[int, Meta(ge=1, le=100, description="Default 20")]
TagPath = Annotated[
    str,
    Meta(min_length=1, max_length=100, description="A hashtag without the #, any case"),
]
AvatarRendition = Literal["thumb.jpg", "std.jpg"]
SearchQuery = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=30,
        description="1 to 30 characters: a prefix of a username or of a word of a full name",
        extra_json_schema={"pattern": STORABLE_TEXT},
    ),
]
SuggestionLimit = Annotated[int, Meta(ge=1, le=50)]


class OpenAPIDocument(msgspec.Struct):
    """``/openapi.json`` itself (described, not restated)."""

    openapi: Annotated[str, Meta(pattern="^3[.]1[.]")]
    info: dict[str, str]
    paths: dict[str, dict[str, Any]]
    components: dict[str, dict[str, Any]]


# -- webhooks (not in api.md: an addition, documented here and in the OpenAPI) --

WebhookUrl = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        pattern=URL_PATTERN,
        description=f"absolute http(s) URL, at most {MAX_URL_LENGTH} characters",
    ),
]


class WebhookSetting(msgspec.Struct, forbid_unknown_fields=True):
    """`PUT /api/v1/me/webhook`: an absolute http(s) URL; loopback and
    private addresses are refused (403) unless the server allows them."""

    url: WebhookUrl


class Webhook(msgspec.Struct, forbid_unknown_fields=True):
    url: str


class RegisteredWebhook(msgspec.Struct, forbid_unknown_fields=True):
    """The secret is shown only here: each delivery carries
    `X-Gramstack-Signature: sha256=<hex HMAC-SHA256 of the raw body>` and
    `X-Gramstack-Event-Id` (the same on every retry of one event)."""

    url: str
    secret: str
