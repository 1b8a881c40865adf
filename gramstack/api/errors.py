"""The one table from domain error to HTTP status and code, and the
handlers that make every error, ours or the framework's, the api.md shape."""

from __future__ import annotations

import logging
import math

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from gramstack.api.auth import SESSION_COOKIE, clear_session_cookies, cookie_secure
from gramstack.api.schemas import Error, ErrorDetail
from gramstack.cache.ports import CacheUnavailable
from gramstack.domain import errors
from gramstack.storage.ports import BackendUnavailable

log = logging.getLogger("gramstack.api")

# Most specific first: the first class in the error's MRO that is listed wins.
# Backend outages come from the ports below the domain, which cannot know it.
ERROR_STATUS: dict[type[Exception], tuple[int, str]] = {
    errors.InvalidCursor: (400, "invalid_cursor"),
    errors.InvalidRequest: (400, "invalid_request"),
    errors.Unauthorized: (401, "unauthorized"),
    errors.Forbidden: (403, "forbidden"),
    errors.NotFound: (404, "not_found"),
    errors.UsernameTaken: (409, "username_taken"),
    errors.Conflict: (409, "conflict"),
    errors.TooLarge: (413, "too_large"),
    errors.UnsupportedMediaType: (415, "unsupported_media_type"),
    errors.ValidationFailed: (422, "validation_failed"),
    errors.RateLimited: (429, "rate_limited"),
    errors.Unavailable: (503, "unavailable"),
    errors.DeadlineExceeded: (504, "timeout"),
    BackendUnavailable: (503, "unavailable"),
    CacheUnavailable: (503, "unavailable"),
}

_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    body = msgspec.json.encode(Error(ErrorDetail(code=code, message=message)))
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def status_for(exc: Exception) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 500, "internal_error"


async def domain_error(request: Request, exc: Exception) -> Response:
    status, code = status_for(exc)
    retry_after = str(request.app.state.settings.unavailable_retry_after_s)
    if not isinstance(exc, errors.DomainError):
        # A backend outage: logged with its cause, answered without it.
        log.warning("%s %s: %s", request.method, request.url.path, exc)
        return error_response(
            status,
            code,
            "a backend is unavailable, try again shortly",
            {"Retry-After": retry_after},
        )
    headers = None
    if status == 503:
        headers = {"Retry-After": retry_after}
    if isinstance(exc, errors.RateLimited):
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
    if isinstance(exc, errors.Unauthorized):
        headers = {"WWW-Authenticate": 'Bearer realm="gramstack"'}
    response = error_response(status, code, exc.message, headers)
    session_was_valid = getattr(request.state, "token", None) is not None
    if (
        isinstance(exc, errors.Unauthorized)
        and SESSION_COOKIE in request.cookies
        and not session_was_valid
    ):
        # A browser holding a dead session cookie should drop it, not show a
        # signed-in page that fails on every call. A 401 after the session
        # was accepted (a wrong current password) keeps the person signed in.
        clear_session_cookies(response, secure=cookie_secure(request))
    return response


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404:
        message = "no such resource"
    return error_response(exc.status_code, code, message, dict(exc.headers or {}))
