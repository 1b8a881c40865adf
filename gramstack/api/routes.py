"""HTTP endpoints of api.md: parse, authenticate, call one use case, serialize."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gramstack.api import auth
from gramstack.api.bodies import json_object, path_id, storable_text
from gramstack.api.serializers import (
    activity_json,
    comment_json,
    like_json,
    media_json,
    page_json,
    user_json,
    user_view_json,
)
from gramstack.domain import (
    accounts,
    activity,
    comments,
    feed,
    graph,
    likes,
    media,
    ratelimits,
)
from gramstack.domain.backends import Backends
from gramstack.domain.errors import InvalidRequest, NotFound, TooLarge
from gramstack.domain.models import PageRequest
from gramstack.domain.pagination import parse_page_request
from gramstack.types import Message, Receive

# Room for the multipart framing and a caption around the image itself.
_MULTIPART_OVERHEAD = 64 * 1024


def _b(request: Request) -> Backends:
    backends: Backends = request.app.state.backends
    return backends


def _json_limit(request: Request) -> int:
    limit: int = request.app.state.settings.max_json_bytes
    return limit


def _page(request: Request, kind: str) -> PageRequest:
    params = request.query_params
    return parse_page_request(kind, params.get("limit"), params.get("cursor"))


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# -- accounts and sessions ----------------------------------------------------


def _session_response(request: Request, grant: accounts.SessionGrant) -> Response:
    response = JSONResponse({"user": user_json(grant.user), "token": grant.token}, 201)
    if auth.wants_session_cookie(request):
        auth.set_session_cookies(response, grant.token)
    return response


async def create_account(request: Request) -> Response:
    signup_rate: int = request.app.state.settings.signup_rate_per_minute
    await ratelimits.spend(_b(request), f"signup:{_client(request)}", signup_rate)
    body = await json_object(
        request,
        _json_limit(request),
        required={"username": str, "password": str},
        optional={"full_name": str},
    )
    grant = await accounts.sign_up(
        _b(request), body["username"], body["password"], body.get("full_name", "")
    )
    return _session_response(request, grant)


async def create_session(request: Request) -> Response:
    login_rate: int = request.app.state.settings.login_rate_per_minute
    await ratelimits.spend(_b(request), f"login:{_client(request)}", login_rate)
    body = await json_object(
        request, _json_limit(request), required={"username": str, "password": str}
    )
    grant = await accounts.log_in(_b(request), body["username"], body["password"])
    return _session_response(request, grant)


async def delete_session(request: Request) -> Response:
    await auth.viewer(request, required=True)
    await accounts.log_out(_b(request), request.state.token)
    response = Response(status_code=204)
    auth.clear_session_cookies(response)
    return response


async def me(request: Request) -> Response:
    viewer = await auth.viewer(request, required=True)
    assert viewer is not None
    if request.method == "PATCH":
        body = await json_object(
            request, _json_limit(request), optional={"full_name": str, "bio": str}
        )
        user = await accounts.update_me(_b(request), viewer, body.get("full_name"), body.get("bio"))
    else:
        user = await accounts.get_me(_b(request), viewer)
    return JSONResponse(user_json(user, followed_by_me=False))


# -- users and follows ----------------------------------------------------------


async def get_user(request: Request) -> Response:
    viewer = await auth.viewer(request, required=False)
    view = await graph.get_user(_b(request), request.path_params["username"], viewer)
    return JSONResponse(user_view_json(view))


async def follow(request: Request) -> Response:
    viewer = await auth.viewer(request, required=True)
    assert viewer is not None
    username = request.path_params["username"]
    if request.method == "PUT":
        view = await graph.follow(_b(request), viewer, username)
    else:
        view = await graph.unfollow(_b(request), viewer, username)
    return JSONResponse(user_view_json(view))


async def followers(request: Request) -> Response:
    viewer = await auth.viewer(request, required=False)
    page = await graph.followers(
        _b(request), request.path_params["username"], _page(request, graph.FOLLOWERS), viewer
    )
    return JSONResponse(page_json(page, user_view_json))


async def following(request: Request) -> Response:
    viewer = await auth.viewer(request, required=False)
    page = await graph.following(
        _b(request), request.path_params["username"], _page(request, graph.FOLLOWING), viewer
    )
    return JSONResponse(page_json(page, user_view_json))


async def user_media(request: Request) -> Response:
    viewer = await auth.viewer(request, required=False)
    page = await media.user_media(
        _b(request), request.path_params["username"], _page(request, media.USER_MEDIA), viewer
    )
    return JSONResponse(page_json(page, media_json))


# -- media ----------------------------------------------------------------------


def _too_large_message(max_bytes: int) -> str:
    if max_bytes >= 1024 * 1024:
        return f"the image is larger than {max_bytes / (1024 * 1024):g} MB"
    return f"the image is larger than {max_bytes:,} bytes"


def _limited_receive(receive: Receive, limit: int) -> Receive:
    """Count body bytes as they arrive and stop the upload past ``limit``,
    so an oversized body is refused without being read in full."""
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise TooLarge(_too_large_message(limit - _MULTIPART_OVERHEAD), limit)
        return message

    return limited


async def post_media(request: Request) -> Response:
    viewer = await auth.viewer(request, required=True)
    assert viewer is not None
    max_bytes = _b(request).limits.max_upload_bytes
    limit = max_bytes + _MULTIPART_OVERHEAD
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise TooLarge(_too_large_message(max_bytes), max_bytes)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidRequest("body must be multipart/form-data with a 'file' part")
    limited = Request(request.scope, _limited_receive(request.receive, limit))
    async with limited.form(max_files=1, max_fields=4) as form:
        unknown = sorted(set(form.keys()) - {"file", "caption"})
        if unknown:
            raise InvalidRequest(f"unknown field(s): {', '.join(unknown)}")
        upload = form.get("file")
        caption = form.get("caption", "")
        if not isinstance(upload, UploadFile):
            raise InvalidRequest("missing 'file' part with the image")
        if not isinstance(caption, str) or not storable_text(caption):
            raise InvalidRequest("caption must be text")
        if upload.size is not None and upload.size > max_bytes:
            raise TooLarge(_too_large_message(max_bytes), max_bytes)
        view = await media.post_media(_b(request), viewer, upload.file, caption)
    return JSONResponse(media_json(view), 201)


async def media_item(request: Request) -> Response:
    if request.method == "DELETE":
        viewer = await auth.viewer(request, required=True)
        assert viewer is not None
        media_id = path_id(request, "id", "media")
        await media.delete_media(_b(request), viewer, media_id)
        return Response(status_code=204)
    media_id = path_id(request, "id", "media")
    viewer = await auth.viewer(request, required=False)
    return JSONResponse(media_json(await media.get_media(_b(request), media_id, viewer)))


async def like(request: Request) -> Response:
    viewer = await auth.viewer(request, required=True)
    assert viewer is not None
    media_id = path_id(request, "id", "media")
    if request.method == "PUT":
        state = await likes.like(_b(request), viewer, media_id)
    else:
        state = await likes.unlike(_b(request), viewer, media_id)
    return JSONResponse(like_json(state))


async def likers(request: Request) -> Response:
    media_id = path_id(request, "id", "media")
    viewer = await auth.viewer(request, required=False)
    page = await likes.likers(_b(request), media_id, _page(request, likes.LIKERS), viewer)
    return JSONResponse(page_json(page, user_view_json))


async def media_comments(request: Request) -> Response:
    if request.method == "POST":
        viewer = await auth.viewer(request, required=True)
        assert viewer is not None
        media_id = path_id(request, "id", "media")
        body = await json_object(request, _json_limit(request), required={"text": str})
        view = await comments.add_comment(_b(request), viewer, media_id, body["text"])
        return JSONResponse(comment_json(view), 201)
    media_id = path_id(request, "id", "media")
    viewer = await auth.viewer(request, required=False)
    page = await comments.list_comments(
        _b(request), media_id, _page(request, comments.COMMENTS), viewer
    )
    return JSONResponse(page_json(page, comment_json))


async def delete_comment(request: Request) -> Response:
    viewer = await auth.viewer(request, required=True)
    assert viewer is not None
    comment_id = path_id(request, "id", "comment")
    await comments.delete_comment(_b(request), viewer, comment_id)
    return Response(status_code=204)


# -- feed and activity ----------------------------------------------------------


async def home_feed(request: Request) -> Response:
    viewer = await auth.viewer(request, required=True)
    assert viewer is not None
    page = await feed.home_feed(_b(request), viewer, _page(request, feed.FEED))
    return JSONResponse(page_json(page, media_json))


async def activity_inbox(request: Request) -> Response:
    viewer = await auth.viewer(request, required=True)
    assert viewer is not None
    page = await activity.activity(_b(request), viewer, _page(request, activity.ACTIVITY))
    return JSONResponse(page_json(page, activity_json))


# -- images -------------------------------------------------------------------------

_RENDITIONS = {media.THUMBNAIL, media.STANDARD}


async def image(request: Request) -> Response:
    media_id = path_id(request, "id", "media")
    rendition = request.path_params["rendition"]
    if rendition not in _RENDITIONS:
        raise NotFound("image", rendition)
    data = await _b(request).blobs.read(media.blob_key(media_id, rendition))
    if data is None:
        raise NotFound("image", media_id)
    # The bytes never change, but the post may be deleted: caches must ask
    # again each time (a cheap 304 while it exists, a 404 once it is gone).
    etag = f'"{media_id}-{rendition}"'
    headers: dict[str, Any] = {"Cache-Control": "no-cache", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="image/jpeg", headers=headers)


V1 = "/api/v1"

API_ROUTES = [
    Route(f"{V1}/accounts", create_account, methods=["POST"]),
    Route(f"{V1}/sessions", create_session, methods=["POST"]),
    Route(f"{V1}/sessions/current", delete_session, methods=["DELETE"]),
    Route(f"{V1}/me", me, methods=["GET", "PATCH"]),
    Route(f"{V1}/users/{{username}}", get_user, methods=["GET"]),
    Route(f"{V1}/users/{{username}}/follow", follow, methods=["PUT", "DELETE"]),
    Route(f"{V1}/users/{{username}}/followers", followers, methods=["GET"]),
    Route(f"{V1}/users/{{username}}/following", following, methods=["GET"]),
    Route(f"{V1}/users/{{username}}/media", user_media, methods=["GET"]),
    Route(f"{V1}/media", post_media, methods=["POST"]),
    Route(f"{V1}/media/{{id}}", media_item, methods=["GET", "DELETE"]),
    Route(f"{V1}/media/{{id}}/like", like, methods=["PUT", "DELETE"]),
    Route(f"{V1}/media/{{id}}/likers", likers, methods=["GET"]),
    Route(f"{V1}/media/{{id}}/comments", media_comments, methods=["GET", "POST"]),
    Route(f"{V1}/comments/{{id}}", delete_comment, methods=["DELETE"]),
    Route(f"{V1}/feed", home_feed, methods=["GET"]),
    Route(f"{V1}/activity", activity_inbox, methods=["GET"]),
    Route("/media/{id}/{rendition}", image, methods=["GET"]),
]
