"""The OpenAPI 3.1 document served at ``/openapi.json``.

Written out rather than inferred, because api.md is the contract; a test
checks that every route the app serves is documented here and that real
responses validate against these schemas.
"""

from __future__ import annotations

import functools
from typing import Any

from gramstack.domain.validation import MAX_BIO, MAX_CAPTION, MAX_COMMENT, MAX_FULL_NAME

JSON = dict[str, Any]

_ID = {"type": "string", "pattern": "^[0-9]{1,19}$", "description": "64-bit ID as a string"}
_TIME = {"type": "string", "format": "date-time", "description": "RFC 3339, UTC"}


def _ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: JSON, required: list[str] | None = None) -> JSON:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


def _page_of(item: str) -> JSON:
    return _object(
        {
            "items": {"type": "array", "items": _ref(item)},
            "next_cursor": {"type": ["string", "null"]},
        }
    )


_USER_REF = _object({"id": _ID, "username": {"type": "string"}})

SCHEMAS: JSON = {
    "Error": _object(
        {
            "error": _object(
                {"code": {"type": "string"}, "message": {"type": "string"}},
            )
        }
    ),
    "UserRef": _USER_REF,
    "User": _object(
        {
            "id": _ID,
            "username": {"type": "string", "pattern": "^[a-z0-9._]{1,30}$"},
            "full_name": {"type": "string", "maxLength": MAX_FULL_NAME},
            "bio": {"type": "string", "maxLength": MAX_BIO},
            "created_at": _TIME,
            "follower_count": {"type": "integer", "minimum": 0},
            "following_count": {"type": "integer", "minimum": 0},
            "media_count": {"type": "integer", "minimum": 0},
            "followed_by_me": {
                "type": "boolean",
                "description": "Present only when the request is authenticated.",
            },
        },
        required=[
            "id",
            "username",
            "full_name",
            "bio",
            "created_at",
            "follower_count",
            "following_count",
            "media_count",
        ],
    ),
    "Media": _object(
        {
            "id": _ID,
            "owner": _USER_REF,
            "caption": {"type": "string", "maxLength": MAX_CAPTION},
            "created_at": _TIME,
            "width": {"type": "integer", "minimum": 1, "maximum": 1080},
            "height": {"type": "integer", "minimum": 1, "maximum": 1080},
            "images": _object(
                {
                    "thumbnail": {"type": "string", "description": "≤150 px, GET without auth"},
                    "standard": {"type": "string", "description": "≤1080 px, GET without auth"},
                }
            ),
            "like_count": {"type": "integer", "minimum": 0},
            "comment_count": {"type": "integer", "minimum": 0},
            "liked_by_me": {
                "type": "boolean",
                "description": "Always present; false for anonymous requests.",
            },
        }
    ),
    "Comment": _object(
        {
            "id": _ID,
            "media_id": _ID,
            "author": _USER_REF,
            "text": {"type": "string", "minLength": 1, "maxLength": MAX_COMMENT},
            "created_at": _TIME,
        }
    ),
    "Activity": _object(
        {
            "id": _ID,
            "type": {"enum": ["like", "comment", "follow"]},
            "actor": _USER_REF,
            "media_id": {"oneOf": [_ID, {"type": "null"}]},
            "created_at": _TIME,
        }
    ),
    "Session": _object({"user": _ref("User"), "token": {"type": "string"}}),
    "LikeState": _object(
        {"liked": {"type": "boolean"}, "like_count": {"type": "integer", "minimum": 0}}
    ),
    "UserPage": _page_of("User"),
    "MediaPage": _page_of("Media"),
    "CommentPage": _page_of("Comment"),
    "ActivityPage": _page_of("Activity"),
    "SignUp": _object(
        {
            "username": {"type": "string", "pattern": "^[A-Za-z0-9._]{1,30}$"},
            "password": {"type": "string", "minLength": 8, "maxLength": 128},
            "full_name": {"type": "string", "maxLength": MAX_FULL_NAME},
        },
        required=["username", "password"],
    ),
    "LogIn": _object({"username": {"type": "string"}, "password": {"type": "string"}}),
    "ProfileUpdate": _object(
        {
            "full_name": {"type": "string", "maxLength": MAX_FULL_NAME},
            "bio": {"type": "string", "maxLength": MAX_BIO},
        },
        required=[],
    ),
    "NewComment": _object({"text": {"type": "string", "minLength": 1, "maxLength": MAX_COMMENT}}),
    "Upload": {
        "type": "object",
        "properties": {
            "file": {"type": "string", "contentMediaType": "image/*"},
            "caption": {"type": "string", "maxLength": MAX_CAPTION},
        },
        "required": ["file"],
    },
}

_ERRORS = {
    "400": "Malformed request: bad JSON, wrong types, unknown fields, bad limit"
    " (`invalid_request`) or cursor (`invalid_cursor`)",
    "401": "Missing, bad or revoked token (`unauthorized`)",
    "403": "Someone else's object, or a cookie request without its CSRF token (`forbidden`)",
    "404": "Unknown user, media or comment (`not_found`)",
    "409": "`username_taken`, or `conflict` (following yourself)",
    "413": "Body, upload (default 20 MiB) or image pixels over the limit (`too_large`)",
    "415": "Not a still JPEG, PNG or WebP image (`unsupported_media_type`)",
    "422": "A field value out of range (`validation_failed`)",
    "429": "Too many requests (`rate_limited`); see `Retry-After`",
    "503": "A required backend is down (`unavailable`)",
    "504": "The request ran past the deadline (`timeout`)",
    "500": "A bug on our side (`internal_error`); the body never holds internals",
}
_ALWAYS = ["500", "503", "504"]


def _json(schema: JSON) -> JSON:
    return {"application/json": {"schema": schema}}


def _op(
    summary: str,
    status: int,
    schema: str | None,
    errors: list[str],
    *,
    auth: str = "none",
    body: str | None = None,
    page: bool = False,
    path: list[str] | None = None,
    multipart: bool = False,
) -> JSON:
    responses: JSON = {}
    description = {200: "OK", 201: "Created", 204: "No Content"}[status]
    ok: JSON = {"description": description}
    if schema is not None:
        ok["content"] = _json(_ref(schema))
    responses[str(status)] = ok
    for code in sorted({*errors, *_ALWAYS}):
        responses[code] = {"description": _ERRORS[code], "content": _json(_ref("Error"))}
    if "429" in responses:
        responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
    op: JSON = {"summary": summary, "responses": responses}
    params: list[JSON] = []
    for name in path or []:
        params.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string"} if name == "username" else _ID,
            }
        )
    if page:
        params.append(
            {
                "name": "limit",
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
            }
        )
        params.append(
            {
                "name": "cursor",
                "in": "query",
                "schema": {"type": "string"},
                "description": "Opaque; `next_cursor` of the previous page.",
            }
        )
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": True, "content": _json(_ref(body))}
    if multipart:
        op["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": _ref("Upload")}},
        }
    if auth == "required":
        op["security"] = [{"bearer": []}, {"cookie": []}]
    elif auth == "optional":
        op["security"] = [{"bearer": []}, {"cookie": []}, {}]
    return op


@functools.cache
def openapi_document() -> JSON:
    user, media_id, comment_id = ["username"], ["id"], ["id"]
    paths: JSON = {
        "/api/v1/accounts": {
            "post": _op(
                "Sign up; with `X-Session-Cookie: 1` also sets the web UI session cookies",
                201,
                "Session",
                ["400", "409", "413", "422", "429"],
                body="SignUp",
            )
        },
        "/api/v1/sessions": {
            "post": _op(
                "Log in; with `X-Session-Cookie: 1` also sets the web UI session cookies",
                201,
                "Session",
                ["400", "401", "413", "429"],
                body="LogIn",
            )
        },
        "/api/v1/sessions/current": {
            "delete": _op(
                "Log out: the token stops working at once", 204, None, ["401"], auth="required"
            )
        },
        "/api/v1/me": {
            "get": _op("The caller's profile", 200, "User", ["401"], auth="required"),
            "patch": _op(
                "Update full name or bio",
                200,
                "User",
                ["400", "401", "403", "413", "422"],
                auth="required",
                body="ProfileUpdate",
            ),
        },
        "/api/v1/users/{username}": {
            "get": _op("A user's profile", 200, "User", ["401", "404"], auth="optional", path=user)
        },
        "/api/v1/users/{username}/follow": {
            "put": _op(
                "Follow (idempotent); returns the followed user",
                200,
                "User",
                ["401", "403", "404", "409"],
                auth="required",
                path=user,
            ),
            "delete": _op(
                "Unfollow (idempotent)",
                200,
                "User",
                ["401", "403", "404"],
                auth="required",
                path=user,
            ),
        },
        "/api/v1/users/{username}/followers": {
            "get": _op(
                "Followers, newest first",
                200,
                "UserPage",
                ["400", "401", "404"],
                auth="optional",
                page=True,
                path=user,
            )
        },
        "/api/v1/users/{username}/following": {
            "get": _op(
                "Followed accounts, newest first",
                200,
                "UserPage",
                ["400", "401", "404"],
                auth="optional",
                page=True,
                path=user,
            )
        },
        "/api/v1/users/{username}/media": {
            "get": _op(
                "A user's posts, newest first",
                200,
                "MediaPage",
                ["400", "401", "404"],
                auth="optional",
                page=True,
                path=user,
            )
        },
        "/api/v1/media": {
            "post": _op(
                "Post a photo",
                201,
                "Media",
                ["400", "401", "403", "413", "415", "422"],
                auth="required",
                multipart=True,
            )
        },
        "/api/v1/media/{id}": {
            "get": _op("A post", 200, "Media", ["401", "404"], auth="optional", path=media_id),
            "delete": _op(
                "Delete your post: gone from every feed, page, count and image URL",
                204,
                None,
                ["401", "403", "404"],
                auth="required",
                path=media_id,
            ),
        },
        "/api/v1/media/{id}/like": {
            "put": _op(
                "Like (idempotent)",
                200,
                "LikeState",
                ["401", "403", "404"],
                auth="required",
                path=media_id,
            ),
            "delete": _op(
                "Unlike (idempotent)",
                200,
                "LikeState",
                ["401", "403", "404"],
                auth="required",
                path=media_id,
            ),
        },
        "/api/v1/media/{id}/likers": {
            "get": _op(
                "Who liked a post, newest first",
                200,
                "UserPage",
                ["400", "401", "404"],
                auth="optional",
                page=True,
                path=media_id,
            )
        },
        "/api/v1/media/{id}/comments": {
            "post": _op(
                "Comment on a post",
                201,
                "Comment",
                ["400", "401", "403", "404", "413", "422"],
                auth="required",
                body="NewComment",
                path=media_id,
            ),
            "get": _op(
                "Comments, oldest first",
                200,
                "CommentPage",
                ["400", "401", "404"],
                auth="optional",
                page=True,
                path=media_id,
            ),
        },
        "/api/v1/comments/{id}": {
            "delete": _op(
                "Delete a comment (its author or the post's owner)",
                204,
                None,
                ["401", "403", "404"],
                auth="required",
                path=comment_id,
            )
        },
        "/api/v1/feed": {
            "get": _op(
                "Posts of the people I follow and my own, newest first",
                200,
                "MediaPage",
                ["400", "401"],
                auth="required",
                page=True,
            )
        },
        "/api/v1/activity": {
            "get": _op(
                "Likes, comments on my posts and new followers, newest first",
                200,
                "ActivityPage",
                ["400", "401"],
                auth="required",
                page=True,
            )
        },
        "/healthz": {
            "get": {
                "summary": "200 while the process lives",
                "responses": {"200": {"description": "OK"}},
            }
        },
        "/readyz": {
            "get": {
                "summary": "200 when every required backend answers",
                "responses": {
                    "200": {"description": "Ready"},
                    "503": {
                        "description": "A backend is failing; `checks` names it",
                        "content": _json({"type": "object"}),
                    },
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus text format, merged over all worker processes",
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/openapi.json": {
            "get": {"summary": "This document", "responses": {"200": {"description": "OK"}}}
        },
        "/media/{id}/{rendition}": {
            "get": {
                "summary": "Image bytes of a post (no auth); 404 once the post is deleted",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": _ID},
                    {
                        "name": "rendition",
                        "in": "path",
                        "required": True,
                        "schema": {"enum": ["thumb.jpg", "std.jpg"]},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "JPEG",
                        "content": {"image/jpeg": {"schema": {"type": "string"}}},
                    },
                    "404": {"description": "No such image", "content": _json(_ref("Error"))},
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "gramstack",
            "version": "1",
            "description": "Photo-sharing API. IDs are 64-bit integers serialized as strings."
            " Every error body is the `Error` schema; a method a path does not serve is"
            " answered 405 with code `method_not_allowed` and an `Allow` header.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "gs_session",
                    "description": "Web UI session; state-changing requests must send"
                    " X-CSRF-Token equal to the gs_csrf cookie.",
                },
            },
        },
    }
