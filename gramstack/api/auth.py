"""Who is calling: a bearer token (API clients) or the session cookie (the
web UI, where the token must stay out of reach of scripts).

The cookie is set only when sign-up or log-in asks for it with
``X-Session-Cookie: 1``: API clients that keep cookies (most HTTP
libraries do) would otherwise switch to cookie auth without knowing.

Cookie-authenticated requests that change state must echo the ``gs_csrf``
cookie in ``X-CSRF-Token`` (double-submit): another site can make the
browser send our cookies, but cannot read them to copy one into a header.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gramstack.domain import accounts
from gramstack.domain.backends import Backends
from gramstack.domain.errors import Forbidden, Unauthorized

SESSION_COOKIE = "gs_session"
CSRF_COOKIE = "gs_csrf"
CSRF_HEADER = "x-csrf-token"
COOKIE_OPT_IN_HEADER = "x-session-cookie"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _authorization(request: Request) -> str | None:
    """The first Authorization header, as ``request.headers.get`` finds it
    (ASGI header names are lowercase bytes), without building the
    ``Headers`` object every signed-in request would otherwise pay for."""
    for name, value in request.scope["headers"]:
        if name == b"authorization":
            header: str = value.decode("latin-1")
            return header
    return None


def presented_token(request: Request) -> tuple[str | None, bool]:
    """(token, came from the cookie)."""
    header = _authorization(request)
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Authorization must be 'Bearer <token>'")
        return token.strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


async def viewer(request: Request, b: Backends, *, required: bool) -> int | None:
    """The caller's user ID; None for anonymous calls to public endpoints."""
    token, from_cookie = presented_token(request)
    if token is None:
        if required:
            raise Unauthorized("authentication required")
        return None
    try:
        user_id = await accounts.authenticate(b, token)
    except Unauthorized:
        if from_cookie and not required:
            return None  # a stale browser cookie on a public page
        raise
    if from_cookie and request.method not in _SAFE_METHODS:
        expected = request.cookies.get(CSRF_COOKIE, "")
        got = request.headers.get(CSRF_HEADER, "")
        if not expected or not hmac.compare_digest(expected.encode(), got.encode()):
            raise Forbidden("missing or wrong CSRF token")
    # ``request.state.token``: the State wraps this dict (set directly, a
    # State object and its __setattr__ less on every signed-in request).
    request.scope.setdefault("state", {})["token"] = token
    return user_id


def _state_viewer(request: Request) -> int | None:
    # ``getattr(request.state, "viewer", None)``, read from the dict that
    # ``request.state`` wraps (the scope's): no State object to build.
    state: dict[str, Any] | None = request.scope.get("state")
    if state is None:
        return None
    user_id: int | None = state.get("viewer")
    return user_id


def require_viewer(request: Request) -> int:
    """The caller of an endpoint declared with ``auth="required"``: the
    endpoint table authenticated it before the handler ran."""
    user_id = _state_viewer(request)
    if user_id is None:
        raise Unauthorized("authentication required")
    return user_id


def optional_viewer(request: Request) -> int | None:
    """The caller of an ``auth="optional"`` endpoint; None when anonymous."""
    return _state_viewer(request)


def wants_session_cookie(request: Request) -> bool:
    return request.headers.get(COOKIE_OPT_IN_HEADER, "").strip().lower() in {"1", "true"}


def set_session_cookies(response: Response, token: str, *, secure: bool) -> None:
    """``secure`` (the ``cookie_secure`` setting): the browser sends the
    cookies over HTTPS only, so a plain-HTTP request cannot leak the session."""
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="strict", path="/", secure=secure
    )
    response.set_cookie(
        CSRF_COOKIE,
        secrets.token_urlsafe(32),
        httponly=False,
        samesite="strict",
        path="/",
        secure=secure,
    )


def clear_session_cookies(response: Response, *, secure: bool) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=secure
    )
    response.delete_cookie(CSRF_COOKIE, path="/", samesite="strict", secure=secure)


def cookie_secure(request: Request) -> bool:
    secure: bool = request.app.state.settings.cookie_secure
    return secure
