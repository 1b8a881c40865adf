"""Web UI pages.

The pages are shells: the server renders layout and navigation only, and a
little JavaScript fills them from the public API under ``/api/v1`` with the
session cookie. No user data passes through the templates except the path
parameter a page is about, which Jinja escapes.

A page about one thing (a profile, a post) asks the public API in-process
whether that thing exists, so a missing one answers 404, not a 200 shell
that says "not found" (search engines, link checkers and ``curl -f`` trust
the status). Unknown paths get an HTML 404 page when a browser asks for HTML
and the API's JSON error otherwise.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import swagger_ui_bundle  # type: ignore[import-untyped]
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, request_response
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from gramstack.domain.media import MAX_ALT_TEXT, MAX_PHOTOS
from gramstack.domain.validation import MAX_BIO, MAX_CAPTION, MAX_COMMENT, MAX_FULL_NAME
from gramstack.runtime.config import Settings
from gramstack.types import ASGIApp, Message, Receive, Scope, Send

_HERE = Path(__file__).parent
_STATIC_DIR = _HERE / "static"
_TEMPLATE_DIR = _HERE / "templates"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS: dict[str, str] = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}

# Swagger UI sets element styles from script and loads its icons as data:
# URLs; it needs nothing inline, so /docs keeps the strict policy of the site.
_SWAGGER_UI_DIR = Path(swagger_ui_bundle.swagger_ui_path)

_USERNAME = re.compile(r"[A-Za-z0-9._]{1,30}")
_MEDIA_ID = re.compile(r"[0-9]{1,20}")
# api.md: 1..100 Unicode letters, digits or "_" (\w in Python's Unicode mode).
_TAG = re.compile(r"\w{1,100}")


class _SecureHeaders:
    """Adds the security headers to every response of the wrapped app, and a
    long cache lifetime to static files requested with a version query."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        versioned = b"v=" in scope.get("query_string", b"")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.decode("latin-1").lower() not in SECURITY_HEADERS
                ]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                if message["status"] == 200 and versioned:
                    cache = b"public, max-age=31536000, immutable"
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", cache))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _asset_versions() -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in sorted(_STATIC_DIR.iterdir())
        if path.is_file()
    }


def _make_templates() -> Jinja2Templates:
    versions = _asset_versions()

    def static_url(name: str) -> str:
        return f"/static/{name}?v={versions[name]}"

    env = Environment(
        loader=FileSystemLoader(_TEMPLATE_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static_url"] = static_url
    env.filters["size_words"] = size_words
    env.filters["thousands"] = "{:,}".format
    # Compiled now, in the prefork master: the templates' code is then shared
    # by every worker instead of compiled (and its compiler run) in each.
    for name in env.list_templates():
        env.get_template(name)
    return Jinja2Templates(env=env)


async def _api_status(request: Request, path: str) -> int:
    """The status the public API answers to ``GET path``, asked in-process
    through the whole app (auth, cache, error table), without the caller's
    credentials: existence does not depend on who asks."""
    scope: dict[str, Any] = {
        key: value
        for key, value in request.scope.items()
        if key not in ("path_params", "endpoint", "route", "router", "root_path")
    }
    scope.update(
        method="GET",
        path=path,
        raw_path=path.encode(),
        query_string=b"",
        headers=[(b"accept", b"application/json"), (b"host", b"gramstack.internal")],
        # Its own copy: the API's auth writes the caller into the request state.
        state=dict(request.scope.get("state", {})),
    )
    status = 0

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    await request.app(scope, receive, send)
    return status


def size_words(n: int) -> str:
    """A byte count as a person reads it, as app.js's GS.formatBytes says it."""
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    mb = n / 1024 / 1024
    return f"{mb:.0f} MB" if mb == int(mb) else f"{mb:.1f} MB"


def page_limits(settings: Settings) -> dict[str, int]:
    """What the server accepts, as the pages check it before sending: the
    upload limits of this server's settings and the contract's lengths, from
    where the server itself takes them. Every page carries them (``<body
    data-limits>``, read by app.js as ``GS.limits``; templates use them too)."""
    return {
        "max_upload_bytes": settings.max_upload_bytes,
        "max_image_pixels": settings.max_image_pixels,
        "max_photos": MAX_PHOTOS,
        "max_caption": MAX_CAPTION,
        "max_alt_text": MAX_ALT_TEXT,
        "max_comment": MAX_COMMENT,
        "max_full_name": MAX_FULL_NAME,
        "max_bio": MAX_BIO,
    }


class _Pages:
    def __init__(
        self, templates: Jinja2Templates, session_cookie: str, limits: dict[str, int]
    ) -> None:
        self.templates = templates
        self.session_cookie = session_cookie
        self.limits = limits
        self.limits_json = json.dumps(limits, separators=(",", ":"))

    def render(
        self, request: Request, template: str, page: str, status_code: int = 200, **context: Any
    ) -> Response:
        context.update(
            page=page,
            limits=self.limits,
            limits_json=self.limits_json,
            # A hint only, so the navigation does not flash; the scripts ask
            # GET /api/v1/me who is really signed in.
            signed_in_hint=self.session_cookie in request.cookies,
        )
        response = self.templates.TemplateResponse(
            request, template, context, status_code=status_code
        )
        response.headers.update(SECURITY_HEADERS)
        response.headers["cache-control"] = "no-cache"
        return response

    def not_found(self, request: Request) -> Response:
        return self.render(request, "not_found.html", "not-found", status_code=404)

    async def home(self, request: Request) -> Response:
        return self.render(request, "home.html", "home")

    async def signup(self, request: Request) -> Response:
        return self.render(request, "signup.html", "signup")

    async def login(self, request: Request) -> Response:
        return self.render(request, "login.html", "login")

    async def new_post(self, request: Request) -> Response:
        return self.render(request, "new.html", "new")

    async def activity(self, request: Request) -> Response:
        return self.render(request, "activity.html", "activity")

    async def explore(self, request: Request) -> Response:
        return self.render(request, "explore.html", "explore")

    async def tag(self, request: Request) -> Response:
        name = request.path_params["name"]
        if not _TAG.fullmatch(name):
            return self.not_found(request)
        return self.render(request, "tag.html", "tag", tag=name.lower())

    async def settings(self, request: Request) -> Response:
        return self.render(request, "settings.html", "settings")

    async def docs(self, request: Request) -> Response:
        return self.render(request, "docs.html", "docs")

    async def profile(self, request: Request) -> Response:
        username = request.path_params["username"]
        if not _USERNAME.fullmatch(username):
            return self.not_found(request)
        # The shell still renders on a 404 (its script says the account is
        # missing); any other failure is left for the script to report.
        status = await _api_status(request, f"/api/v1/users/{username.lower()}")
        return self.render(
            request,
            "profile.html",
            "profile",
            status_code=404 if status == 404 else 200,
            username=username.lower(),
        )

    async def photo(self, request: Request) -> Response:
        media_id = request.path_params["media_id"]
        if not _MEDIA_ID.fullmatch(media_id):
            return self.not_found(request)
        status = await _api_status(request, f"/api/v1/media/{media_id}")
        return self.render(
            request,
            "photo.html",
            "photo",
            status_code=404 if status == 404 else 200,
            media_id=media_id,
        )

    def unknown_path(self, api_not_found: ASGIApp) -> ASGIApp:
        """The app for paths no route matches: the HTML 404 page for a
        browser's page request, ``api_not_found`` (the JSON error) for
        everything else, API paths always."""

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and _wants_page(scope):
                response = self.not_found(Request(scope, receive))
                await response(scope, receive, send)
            else:
                await api_not_found(scope, receive, send)

        return app


def _wants_page(scope: Scope) -> bool:
    if scope["method"] not in ("GET", "HEAD"):
        return False
    path: str = scope["path"]
    if path.startswith(("/api/", "/media/", "/static/", "/docs/assets/")):
        return False
    accept = dict(scope["headers"]).get(b"accept", b"")
    return b"text/html" in accept


def _page(path: str, endpoint: Callable[[Request], Awaitable[Response]], name: str) -> Route:
    app = GZipMiddleware(request_response(endpoint), minimum_size=1000)
    return Route(path, app, methods=["GET", "HEAD"], name=name)


class WebUI:
    """The UI's pages and the app for unknown paths; ``session_cookie`` is
    the API's cookie name (the web layer sits below the API and does not
    import it), ``settings`` the server's (for the limits the pages check)."""

    def __init__(self, session_cookie: str, settings: Settings) -> None:
        self.templates = _make_templates()
        self._pages = _Pages(self.templates, session_cookie, page_limits(settings))
        self.routes = _web_routes(self._pages)

    def unknown_path(self, api_not_found: ASGIApp) -> ASGIApp:
        return self._pages.unknown_path(api_not_found)


def _web_routes(pages: _Pages) -> list[BaseRoute]:
    static = StaticFiles(directory=_STATIC_DIR)
    swagger_ui = StaticFiles(directory=_SWAGGER_UI_DIR)
    return [
        _page("/", pages.home, "web:home"),
        _page("/signup", pages.signup, "web:signup"),
        _page("/login", pages.login, "web:login"),
        _page("/new", pages.new_post, "web:new"),
        _page("/activity", pages.activity, "web:activity"),
        _page("/u/{username}", pages.profile, "web:profile"),
        _page("/p/{media_id}", pages.photo, "web:photo"),
        _page("/explore", pages.explore, "web:explore"),
        _page("/explore/tags/{name}", pages.tag, "web:tag"),
        _page("/settings", pages.settings, "web:settings"),
        _page("/docs", pages.docs, "web:docs"),
        Mount("/static", app=GZipMiddleware(_SecureHeaders(static)), name="static"),
        Mount("/docs/assets", app=GZipMiddleware(_SecureHeaders(swagger_ui)), name="docs-assets"),
    ]
