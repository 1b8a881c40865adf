"""The OpenAPI 3.1 document served at ``/openapi.json``, generated from the
endpoint table and the msgspec types it names (nothing here is written per
endpoint). Error statuses implied by an endpoint's declaration (auth, a
body, a page, a rate limit, a path ID) are added to the ones it lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from gramstack.api import schemas
from gramstack.api.auth import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from gramstack.api.endpoints import JSON_TYPE, Endpoint
from gramstack.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT

JSON = dict[str, Any]
_REF = "#/components/schemas/{name}"

ERROR_DESCRIPTIONS = {
    400: "Malformed request: bad JSON, wrong types, unknown or missing fields, text no"
    " database stores (NUL, lone surrogates), a bad limit (`invalid_request`) or a cursor"
    " this server did not hand out (`invalid_cursor`)",
    401: "Missing, bad or revoked token (`unauthorized`); on public endpoints only when a"
    " bad token is presented",
    403: "Someone else's object, or a cookie request without its CSRF token (`forbidden`)",
    404: "Unknown user, media or comment (`not_found`)",
    409: "`username_taken`, or `conflict` (following yourself)",
    413: "Body, upload (default 20 MiB) or image pixels over the limit (`too_large`)",
    415: "Not a still JPEG, PNG or WebP image (`unsupported_media_type`)",
    422: "A field value out of range (`validation_failed`); the message names the field",
    429: "Too many requests (`rate_limited`); see `Retry-After`",
    500: "A bug on our side (`internal_error`); the body never holds internals",
    503: "A required backend is down (`unavailable`)",
    504: "The request ran past the deadline (`timeout`)",
}
_ALWAYS = (500, 503, 504)
_SUCCESS = {200: "OK", 201: "Created", 204: "No Content"}
_BINARY = {"type": "string", "format": "binary"}


def implied_errors(endpoint: Endpoint[Any, Any]) -> set[int]:
    """Every status an endpoint can answer besides its success."""
    found = {*endpoint.errors, *_ALWAYS}
    if endpoint.auth != "none":
        found.add(401)
        if endpoint.method != "GET":
            found.add(403)  # a cookie request without its CSRF token
    if endpoint.body is not None or endpoint.form is not None:
        found.update((400, 413))
    if endpoint.page or endpoint.query_params:
        found.add(400)
    if endpoint.rate_limit is not None:
        found.add(429)
    if endpoint.path_params:
        found.add(404)  # an unknown or malformed ID or username
    return found


def _ref(kind: Any) -> JSON:
    return {"$ref": _REF.format(name=kind.__name__)}


def _inline(kind: Any) -> JSON:
    schema: JSON = msgspec.json.schema(kind)
    return schema


def _page_parameters() -> list[JSON]:
    return [
        {
            "name": "limit",
            "in": "query",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT,
            },
        },
        {
            "name": "cursor",
            "in": "query",
            "description": "Opaque: the `next_cursor` of the previous page of the same list;"
            " any other value is refused with `invalid_cursor`.",
            "schema": {"type": "string", "pattern": schemas.CURSOR_PATTERN},
        },
    ]


def _operation(endpoint: Endpoint[Any, Any]) -> JSON:
    ok: JSON = {"description": _SUCCESS[endpoint.status]}
    if endpoint.response is not None:
        ok["content"] = {JSON_TYPE: {"schema": _ref(endpoint.response)}}
    elif endpoint.produces != JSON_TYPE:
        ok["content"] = {endpoint.produces: {"schema": _BINARY}}
    responses: JSON = {str(endpoint.status): ok}
    if endpoint.conditional:
        responses["304"] = {"description": "Not Modified (`If-None-Match` matched the ETag)"}
    for status in sorted(implied_errors(endpoint)):
        body = endpoint.error_bodies.get(status, schemas.Error)
        response: JSON = {
            "description": ERROR_DESCRIPTIONS[status],
            "content": {JSON_TYPE: {"schema": _ref(body)}},
        }
        if status == 429:
            response["headers"] = {
                "Retry-After": {"schema": {"type": "integer", "minimum": 1}, "required": True}
            }
        responses[str(status)] = response
    operation: JSON = {"summary": endpoint.summary, "responses": responses}
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": _inline(kind)}
        for name, kind in endpoint.path_params.items()
    ]
    parameters += [
        {"name": name, "in": "query", "required": required, "schema": _inline(kind)}
        for name, (kind, required) in endpoint.query_params.items()
    ]
    if endpoint.page:
        parameters += _page_parameters()
    if parameters:
        operation["parameters"] = parameters
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {JSON_TYPE: {"schema": _ref(endpoint.body)}},
        }
    if endpoint.form is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": _ref(endpoint.form),
                    "encoding": {"file": {"contentType": "image/jpeg, image/png, image/webp"}},
                }
            },
        }
    if endpoint.auth == "required":
        operation["security"] = [{"bearer": []}, {"cookie": []}]
    elif endpoint.auth == "optional":
        operation["security"] = [{"bearer": []}, {"cookie": []}, {}]
    return operation


def _components(endpoints: Sequence[Endpoint[Any, Any]]) -> JSON:
    kinds: list[Any] = [schemas.Error]
    for endpoint in endpoints:
        for kind in (endpoint.response, endpoint.body, endpoint.form):
            if kind is not None:
                kinds.append(kind)
        kinds.extend(endpoint.error_bodies.values())
    unique = list(dict.fromkeys(kinds))
    _, components = msgspec.json.schema_components(unique, ref_template=_REF)
    forms = {e.form.__name__ for e in endpoints if e.form is not None}
    for name in forms:
        # msgspec describes bytes as base64 text (its JSON encoding); a
        # multipart part carries the raw bytes (``format: binary``).
        for prop in components[name]["properties"].values():
            prop.pop("contentEncoding", None)
    return dict(sorted(components.items()))


def openapi_document(endpoints: Sequence[Endpoint[Any, Any]]) -> JSON:
    paths: JSON = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
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
            "schemas": _components(endpoints),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": SESSION_COOKIE,
                    "description": "Web UI session; state-changing requests must send"
                    f" {CSRF_HEADER} equal to the {CSRF_COOKIE} cookie.",
                },
            },
        },
    }
