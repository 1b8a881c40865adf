"""The handlers of the endpoint table (``gramstack.api.routes``).

A handler parses its path, calls one use case and returns a response struct
(or its JSON, rendered once per record by ``serializers`` for the hot reads);
the table's machinery authenticated the caller, spent the rate limit and
decoded the body before it ran, and encodes what it returns.
"""

from __future__ import annotations

from typing import Any, get_args

import msgspec
from msgspec import UNSET
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from gramstack.api import auth, schemas, serializers
from gramstack.api.auth import optional_viewer, require_viewer
from gramstack.api.bodies import path_id, read_multipart, storable_text
from gramstack.api.endpoints import backends, json_response
from gramstack.domain import (
    accounts,
    activity,
    activity_marks,
    avatars,
    comments,
    discovery,
    feed,
    graph,
    likes,
    media,
    people,
    webhooks,
)
from gramstack.domain.errors import InvalidRequest, NotFound, TooLarge, ValidationFailed
from gramstack.domain.models import PageRequest
from gramstack.domain.pagination import parse_page_request
from gramstack.types import Message, Receive

# Room for the multipart framing and a caption around the image itself.
_MULTIPART_OVERHEAD = 64 * 1024
_UPLOAD_PARTS = frozenset(schemas.Upload.__struct_fields__)
_AVATAR_PARTS = frozenset(schemas.AvatarUpload.__struct_fields__)


def _page(request: Request, kind: str) -> PageRequest:
    if not request.scope["query_string"]:
        # Most page requests are a first page: no query string to parse.
        return parse_page_request(kind, None, None)
    params = request.query_params
    return parse_page_request(kind, params.get("limit"), params.get("cursor"))


def _username(request: Request) -> str:
    name: str = request.path_params["username"]
    return name


# -- accounts and sessions ----------------------------------------------------


def _session_response(request: Request, grant: accounts.SessionGrant) -> Response:
    session = schemas.Session(user=serializers.user(grant.user), token=grant.token)
    response = json_response(session, 201)
    if auth.wants_session_cookie(request):
        auth.set_session_cookies(response, grant.token, secure=auth.cookie_secure(request))
    return response


async def create_account(request: Request, body: schemas.SignUp) -> schemas.Session | Response:
    grant = await accounts.sign_up(backends(request), body.username, body.password, body.full_name)
    return _session_response(request, grant)


async def create_session(request: Request, body: schemas.LogIn) -> schemas.Session | Response:
    grant = await accounts.log_in(backends(request), body.username, body.password)
    return _session_response(request, grant)


async def delete_session(request: Request, _: None) -> Response | None:
    require_viewer(request)
    await accounts.log_out(backends(request), request.state.token)
    response = Response(status_code=204)
    auth.clear_session_cookies(response, secure=auth.cookie_secure(request))
    return response


async def get_me(request: Request, _: None) -> schemas.User:
    user = await accounts.get_me(backends(request), require_viewer(request))
    return serializers.user(user, followed_by_me=False)


async def update_me(request: Request, body: schemas.ProfileUpdate) -> schemas.User:
    full_name = None if body.full_name is UNSET else body.full_name
    bio = None if body.bio is UNSET else body.bio
    user = await accounts.update_me(backends(request), require_viewer(request), full_name, bio)
    return serializers.user(user, followed_by_me=False)


async def set_webhook(request: Request, body: schemas.WebhookSetting) -> schemas.RegisteredWebhook:
    hook = await webhooks.register(backends(request), require_viewer(request), body.url)
    return schemas.RegisteredWebhook(url=hook.url, secret=hook.secret)


async def get_webhook(request: Request, _: None) -> schemas.Webhook:
    hook = await webhooks.get(backends(request), require_viewer(request))
    return schemas.Webhook(url=hook.url)


async def delete_webhook(request: Request, _: None) -> None:
    await webhooks.remove(backends(request), require_viewer(request))


# -- users and follows ----------------------------------------------------------


async def get_user(request: Request, _: None) -> msgspec.Raw:
    view = await graph.get_user(backends(request), _username(request), optional_viewer(request))
    return serializers.user_json(view)


async def follow(request: Request, _: None) -> msgspec.Raw:
    view = await graph.follow(backends(request), require_viewer(request), _username(request))
    return serializers.user_json(view)


async def unfollow(request: Request, _: None) -> msgspec.Raw:
    view = await graph.unfollow(backends(request), require_viewer(request), _username(request))
    return serializers.user_json(view)


async def followers(request: Request, _: None) -> serializers.EncodedPage:
    page = await graph.followers(
        backends(request),
        _username(request),
        _page(request, graph.FOLLOWERS),
        optional_viewer(request),
    )
    return serializers.user_page(page)


async def following(request: Request, _: None) -> serializers.EncodedPage:
    page = await graph.following(
        backends(request),
        _username(request),
        _page(request, graph.FOLLOWING),
        optional_viewer(request),
    )
    return serializers.user_page(page)


async def user_media(request: Request, _: None) -> serializers.EncodedPage:
    page = await media.user_media(
        backends(request),
        _username(request),
        _page(request, media.USER_MEDIA),
        optional_viewer(request),
    )
    return serializers.media_page(page)


# -- media ----------------------------------------------------------------------


def _too_large_message(max_bytes: int) -> str:
    if max_bytes >= 1024 * 1024:
        return f"the image is larger than {max_bytes / (1024 * 1024):g} MB"
    return f"the image is larger than {max_bytes:,} bytes"


def _limited_receive(receive: Receive, limit: int, max_bytes: int) -> Receive:
    """Count body bytes as they arrive and stop the upload past ``limit``,
    so an oversized body is refused without being read in full."""
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise TooLarge(_too_large_message(max_bytes), max_bytes)
        return message

    return limited


async def post_media(request: Request, _: None) -> msgspec.Raw:
    viewer = require_viewer(request)
    b = backends(request)
    max_bytes = b.limits.max_upload_bytes  # per photo
    limit = max_bytes * media.MAX_PHOTOS + _MULTIPART_OVERHEAD
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise TooLarge(_too_large_message(max_bytes), max_bytes)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidRequest("body must be multipart/form-data with a 'file' part")
    limited = Request(request.scope, _limited_receive(request.receive, limit, max_bytes))
    # One file and one alt text past the limit, so that 11 photos get the
    # contract's own message; more than that the parser refuses itself (400).
    parts = media.MAX_PHOTOS + 1
    form = await read_multipart(limited, max_files=parts, max_fields=2 * parts + 2)
    try:
        unknown = sorted(set(form.keys()) - _UPLOAD_PARTS)
        if unknown:
            raise InvalidRequest(f"unknown field(s): {', '.join(unknown)}")
        uploads = form.getlist("file")
        captions = form.getlist("caption")
        alt_texts = form.getlist("alt_text")
        if not uploads or not all(isinstance(u, UploadFile) for u in uploads):
            raise InvalidRequest("missing 'file' part with the image")
        if len(uploads) > media.MAX_PHOTOS:
            raise InvalidRequest(f"a post has at most {media.MAX_PHOTOS} photos")
        if len(captions) > 1:
            raise InvalidRequest("send at most one 'caption'")
        caption = captions[0] if captions else ""
        if not isinstance(caption, str) or not storable_text(caption):
            raise InvalidRequest("caption must be text")
        if alt_texts and len(alt_texts) != len(uploads):
            raise InvalidRequest(
                "send 'alt_text' once per 'file', in the same order, or not at all"
            )
        if not all(isinstance(t, str) and storable_text(t) for t in alt_texts):
            raise InvalidRequest("alt_text must be text")
        files = [u for u in uploads if isinstance(u, UploadFile)]
        if any((u.size or 0) > max_bytes for u in files):
            raise TooLarge(_too_large_message(max_bytes), max_bytes)
        view = await media.post_media(
            b,
            viewer,
            [u.file for u in files],
            caption,
            [t for t in alt_texts if isinstance(t, str)] if alt_texts else None,
        )
    finally:
        await form.close()
    return serializers.media_json(view)


async def edit_media(request: Request, body: schemas.MediaEdit) -> msgspec.Raw:
    viewer = require_viewer(request)
    caption = None if body.caption is UNSET else body.caption
    alt_texts = None if body.alt_texts is UNSET else body.alt_texts
    if alt_texts is not None and not all(storable_text(t) for t in alt_texts):
        raise InvalidRequest("field alt_texts is not valid text")
    view = await media.edit_media(
        backends(request), viewer, path_id(request, "media"), caption, alt_texts
    )
    return serializers.media_json(view)


async def get_media(request: Request, _: None) -> msgspec.Raw:
    media_id = path_id(request, "media")
    view = await media.get_media(backends(request), media_id, optional_viewer(request))
    return serializers.media_json(view)


async def delete_media(request: Request, _: None) -> None:
    viewer = require_viewer(request)
    await media.delete_media(backends(request), viewer, path_id(request, "media"))


async def like(request: Request, _: None) -> schemas.LikeState:
    viewer = require_viewer(request)
    state = await likes.like(backends(request), viewer, path_id(request, "media"))
    return serializers.like_state(state)


async def unlike(request: Request, _: None) -> schemas.LikeState:
    viewer = require_viewer(request)
    state = await likes.unlike(backends(request), viewer, path_id(request, "media"))
    return serializers.like_state(state)


async def likers(request: Request, _: None) -> serializers.EncodedPage:
    media_id = path_id(request, "media")
    page = await likes.likers(
        backends(request), media_id, _page(request, likes.LIKERS), optional_viewer(request)
    )
    return serializers.user_page(page)


async def add_comment(request: Request, body: schemas.NewComment) -> schemas.Comment:
    viewer = require_viewer(request)
    media_id = path_id(request, "media")
    view = await comments.add_comment(backends(request), viewer, media_id, body.text)
    return serializers.comment(view)


async def list_comments(request: Request, _: None) -> schemas.CommentPage:
    media_id = path_id(request, "media")
    page = await comments.list_comments(
        backends(request), media_id, _page(request, comments.COMMENTS), optional_viewer(request)
    )
    return serializers.comment_page(page)


async def delete_comment(request: Request, _: None) -> None:
    viewer = require_viewer(request)
    await comments.delete_comment(backends(request), viewer, path_id(request, "comment"))


# -- hashtags and explore ----------------------------------------------------------


async def get_tag(request: Request, _: None) -> schemas.Tag:
    found = await discovery.tag(backends(request), request.path_params["name"])
    return serializers.tag(found)


async def tag_media(request: Request, _: None) -> serializers.EncodedPage:
    page = await discovery.tag_media(
        backends(request),
        request.path_params["name"],
        _page(request, discovery.TAG_MEDIA),
        optional_viewer(request),
    )
    return serializers.media_page(page)


async def search_tags(request: Request, _: None) -> schemas.TagPage:
    query = request.query_params.get("q")
    if query is None:
        raise InvalidRequest("q is required")
    limit = parse_page_request(discovery.TAG_MEDIA, request.query_params.get("limit"), None)
    found = await discovery.search_tags(backends(request), query, limit.limit)
    return schemas.TagPage([serializers.tag(t) for t in found], None)


async def explore(request: Request, _: None) -> serializers.EncodedPage:
    page = await discovery.explore(
        backends(request), _page(request, discovery.EXPLORE), optional_viewer(request)
    )
    return serializers.media_page(page)


# -- feed and activity ----------------------------------------------------------


async def home_feed(request: Request, _: None) -> serializers.EncodedPage:
    viewer = require_viewer(request)
    page = await feed.home_feed(backends(request), viewer, _page(request, feed.FEED))
    return serializers.media_page(page)


async def activity_inbox(request: Request, _: None) -> schemas.ActivityPage:
    viewer = require_viewer(request)
    page = await activity.activity(backends(request), viewer, _page(request, activity.ACTIVITY))
    return serializers.activity_page(page)


# -- images -------------------------------------------------------------------------

RENDITIONS = frozenset(get_args(schemas.Rendition))


async def image(request: Request, _: None) -> Response:
    media_id = path_id(request, "media")
    rendition = request.path_params["rendition"]
    raw_index = request.path_params.get("index", "0")
    if rendition not in RENDITIONS:
        raise NotFound("image", rendition)
    if not (raw_index.isascii() and raw_index.isdecimal() and len(raw_index) == 1):
        raise NotFound("image", raw_index)
    index = int(raw_index)
    if "index" in request.path_params and index == 0:
        raise NotFound("image", raw_index)  # the first photo has version 1's URL only
    data = await media.image_bytes(backends(request), media_id, rendition, index)
    if data is None:
        raise NotFound("image", media_id)
    # The bytes never change, but the post may be deleted: caches must ask
    # again each time (a cheap 304 while it exists, a 404 once it is gone).
    etag = f'"{media_id}-{index}-{rendition}"' if index else f'"{media_id}-{rendition}"'
    # nosniff: browsers must take the bytes as the declared image type, never
    # guess HTML or script from what an uploader managed to put in them.
    headers: dict[str, Any] = {
        "Cache-Control": "no-cache",
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="image/jpeg", headers=headers)


# -- additions: account settings ------------------------------------------------------


async def put_avatar(request: Request, _: None) -> schemas.User:
    viewer = require_viewer(request)
    b = backends(request)
    max_bytes = b.limits.max_upload_bytes
    limit = max_bytes + _MULTIPART_OVERHEAD
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise TooLarge(_too_large_message(max_bytes), max_bytes)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidRequest("body must be multipart/form-data with a 'file' part")
    limited = Request(request.scope, _limited_receive(request.receive, limit, max_bytes))
    async with limited.form(max_files=1, max_fields=2) as form:
        unknown = sorted(set(form.keys()) - _AVATAR_PARTS)
        if unknown:
            raise InvalidRequest(f"unknown field(s): {', '.join(unknown)}")
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidRequest("missing 'file' part with the image")
        if upload.size is not None and upload.size > max_bytes:
            raise TooLarge(_too_large_message(max_bytes), max_bytes)
        user = await avatars.set_avatar(b, viewer, upload.file)
    return serializers.user(user, followed_by_me=False)


async def delete_avatar(request: Request, _: None) -> schemas.User:
    user = await avatars.remove_avatar(backends(request), require_viewer(request))
    return serializers.user(user, followed_by_me=False)


async def change_password(request: Request, body: schemas.PasswordChange) -> None:
    viewer = require_viewer(request)
    await accounts.change_password(
        backends(request), viewer, request.state.token, body.current_password, body.new_password
    )


async def delete_me(request: Request, body: schemas.AccountDeletion) -> Response:
    viewer = require_viewer(request)
    await accounts.delete_account(backends(request), viewer, body.password)
    response = Response(status_code=204)
    auth.clear_session_cookies(response, secure=auth.cookie_secure(request))
    return response


# -- additions: people search, suggestions and the unread count ----------------------------


def _search_query(request: Request) -> str:
    query = request.query_params.get("q")
    if query is None:
        raise InvalidRequest("missing query parameter 'q'")
    if not storable_text(query):
        raise InvalidRequest("q must be text")
    if not 1 <= len(query) <= people.MAX_QUERY:
        raise ValidationFailed("q", f"must be 1 to {people.MAX_QUERY} characters")
    return query


async def search_users(request: Request, _: None) -> serializers.EncodedPage:
    query = _search_query(request)
    page = await people.search_users(
        backends(request), query, _page(request, people.SEARCH), optional_viewer(request)
    )
    return serializers.user_page(page)


async def suggestions(request: Request, _: None) -> schemas.Suggestions:
    viewer = require_viewer(request)
    raw = request.query_params.get("limit")
    limit = people.DEFAULT_SUGGESTIONS
    if raw is not None:
        if not (raw.isascii() and raw.isdecimal()) or len(raw) > 4:
            raise InvalidRequest("limit must be an integer from 1 to 50")
        limit = int(raw)
        if not 1 <= limit <= people.MAX_SUGGESTIONS:
            raise InvalidRequest("limit must be an integer from 1 to 50")
    views = await people.suggestions(backends(request), viewer, limit)
    return schemas.Suggestions([serializers.user_view(v) for v in views], None)


async def unread_activity(request: Request, _: None) -> schemas.UnreadCount:
    count = await activity_marks.unread_count(backends(request), require_viewer(request))
    return schemas.UnreadCount(count)


async def mark_activity_seen(request: Request, body: schemas.SeenMark) -> None:
    viewer = require_viewer(request)
    up_to = body.up_to
    if len(up_to) > 19 or int(up_to) >= 1 << 63:
        raise NotFound("activity", up_to)
    await activity_marks.mark_seen(backends(request), viewer, int(up_to))


AVATAR_RENDITIONS = frozenset(get_args(schemas.AvatarRendition))


async def avatar_image(request: Request, _: None) -> Response:
    avatar_id = path_id(request, "avatar")
    rendition = request.path_params["rendition"]
    if rendition not in AVATAR_RENDITIONS:
        raise NotFound("image", rendition)
    data = await backends(request).blobs.read(avatars.avatar_blob_key(avatar_id, rendition))
    if data is None:
        raise NotFound("image", avatar_id)
    # A new avatar gets new URLs; an old one may be deleted: revalidate.
    etag = f'"a{avatar_id}-{rendition}"'
    headers: dict[str, Any] = {"Cache-Control": "no-cache", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="image/jpeg", headers=headers)
