from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.api.conftest import (
    API,
    PASSWORD,
    Account,
    api_client,
    assert_error,
    comment,
    eventually,
    extra_server,
    follow,
    get_page,
    post_media,
    signup_user,
)
from tests.support.server import ServerProcess

ENDPOINTS: dict[str, set[str]] = {
    f"{API}/accounts": {"post"},
    f"{API}/sessions": {"post"},
    f"{API}/sessions/current": {"delete"},
    f"{API}/me": {"get", "patch", "delete"},
    f"{API}/me/avatar": {"put", "delete"},
    f"{API}/me/password": {"put"},
    f"{API}/me/suggestions": {"get"},
    f"{API}/search/users": {"get"},
    f"{API}/activity/unread": {"get"},
    f"{API}/activity/seen": {"put"},
    f"{API}/users/{{username}}": {"get"},
    f"{API}/users/{{username}}/follow": {"put", "delete"},
    f"{API}/users/{{username}}/followers": {"get"},
    f"{API}/users/{{username}}/following": {"get"},
    f"{API}/users/{{username}}/media": {"get"},
    f"{API}/media": {"post"},
    f"{API}/media/{{id}}": {"get", "patch", "delete"},
    f"{API}/media/{{id}}/like": {"put", "delete"},
    f"{API}/media/{{id}}/likers": {"get"},
    f"{API}/media/{{id}}/comments": {"post", "get"},
    f"{API}/comments/{{id}}": {"delete"},
    f"{API}/feed": {"get"},
    f"{API}/activity": {"get"},
    f"{API}/tags/{{name}}": {"get"},
    f"{API}/tags/{{name}}/media": {"get"},
    f"{API}/search/tags": {"get"},
    f"{API}/explore": {"get"},
    "/healthz": {"get"},
    "/readyz": {"get"},
    "/metrics": {"get"},
    "/openapi.json": {"get"},
}
METRIC_LINE = re.compile(
    r"^gramstack_http_requests_total(?:\{[^}]*\})? (?P<value>[0-9.eE+-]+)(?: [0-9]+)?$",
    re.MULTILINE,
)


# --------------------------------------------------------------------------- probes


def test_readyz_is_ok(http: httpx.Client) -> None:
    response = http.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["status"] == "ok"


def test_metrics_exposes_request_counter(http: httpx.Client) -> None:
    for _ in range(3):
        assert http.get("/healthz").status_code == 200
    response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# TYPE gramstack_http_requests" in text
    assert METRIC_LINE.search(text), text[:2000]
    assert "Traceback" not in text


def test_metrics_counter_grows(http: httpx.Client, signup: Callable[..., Account]) -> None:
    def total() -> float:
        text = http.get("/metrics").text
        return sum(float(m.group("value")) for m in METRIC_LINE.finditer(text))

    before = total()
    for _ in range(5):
        signup()
    eventually(lambda: total() >= before + 5)


# --------------------------------------------------------------------------- openapi


@pytest.fixture(scope="module")
def openapi(server: ServerProcess) -> dict[str, Any]:
    response = httpx.get(server.base_url + "/openapi.json", timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


def test_openapi_is_3_1(openapi: dict[str, Any]) -> None:
    assert isinstance(openapi.get("openapi"), str) and openapi["openapi"].startswith("3.1")
    assert openapi["info"]["title"]
    assert openapi["info"]["version"]


def _template(path: str) -> str:
    """The path with parameter names erased: ``/media/{id}`` == ``/media/{media_id}``."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def _doc_path(openapi: dict[str, Any], path: str) -> str:
    """The key of ``openapi["paths"]`` documenting the api.md ``path``."""
    matches = [p for p in openapi["paths"] if _template(p) == _template(path)]
    assert len(matches) == 1, (path, sorted(openapi["paths"]))
    return matches[0]


@pytest.mark.parametrize("path", sorted(ENDPOINTS))
def test_openapi_documents_every_endpoint(openapi: dict[str, Any], path: str) -> None:
    item = openapi["paths"][_doc_path(openapi, path)]
    methods = {m for m in item if m in {"get", "put", "post", "delete", "patch"}}
    assert methods == ENDPOINTS[path]
    for method in methods:
        assert item[method].get("responses"), (path, method)
    names = re.findall(r"\{([^}]+)\}", _doc_path(openapi, path))
    for name in names:
        declared = item.get("parameters", []) + [
            p for m in methods for p in item[m].get("parameters", [])
        ]
        assert any(p.get("name") == name and p.get("in") == "path" for p in declared), (
            f"{path}: path parameter {name!r} is not declared"
        )


def _validator(openapi: dict[str, Any], pointer: str) -> Draft202012Validator:
    resource = Resource(contents=openapi, specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource("urn:gramstack:openapi", resource)
    return Draft202012Validator({"$ref": f"urn:gramstack:openapi#{pointer}"}, registry=registry)


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _response_validator(
    openapi: dict[str, Any], path: str, method: str, status: str
) -> Draft202012Validator:
    path = _doc_path(openapi, path)
    responses = openapi["paths"][path][method]["responses"]
    # An error status may be documented as e.g. "404", "4XX" or "default".
    key = next((k for k in (status, f"{status[0]}XX", "default") if k in responses), None)
    assert key is not None, (path, method, status, sorted(responses))
    status = key
    content = responses[status].get("content", {})
    assert "application/json" in content, (path, method, status)
    assert "schema" in content["application/json"]
    pointer = "/".join(
        [
            "",
            "paths",
            _escape(path),
            method,
            "responses",
            status,
            "content",
            _escape("application/json"),
            "schema",
        ]
    )
    return _validator(openapi, pointer)


def _check(validator: Draft202012Validator, instance: Any) -> None:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


@pytest.fixture
def sample(http: httpx.Client, signup: Callable[..., Account]) -> Iterator[dict[str, Any]]:
    ana, bo = signup(full_name="Ana"), signup()
    follow(http, bo, ana.username)
    media = post_media(http, ana, caption="schema")
    comment(http, bo, media["id"], "valid?")
    eventually(lambda: len(get_page(http, f"{API}/activity", ana)["items"]) == 2)
    yield {"ana": ana, "bo": bo, "media": media}


def test_real_responses_match_openapi_schemas(
    http: httpx.Client, openapi: dict[str, Any], sample: dict[str, Any]
) -> None:
    ana, bo, media = sample["ana"], sample["bo"], sample["media"]
    checks: list[tuple[str, str, str, httpx.Response]] = [
        (f"{API}/me", "get", "200", http.get(f"{API}/me", headers=ana.headers)),
        (
            f"{API}/users/{{username}}",
            "get",
            "200",
            http.get(f"{API}/users/{ana.username}"),
        ),
        (f"{API}/media/{{id}}", "get", "200", http.get(f"{API}/media/{media['id']}")),
        (
            f"{API}/media/{{id}}/comments",
            "get",
            "200",
            http.get(f"{API}/media/{media['id']}/comments"),
        ),
        (f"{API}/activity", "get", "200", http.get(f"{API}/activity", headers=ana.headers)),
        (f"{API}/feed", "get", "200", http.get(f"{API}/feed", headers=bo.headers)),
        (
            f"{API}/users/{{username}}/followers",
            "get",
            "200",
            http.get(f"{API}/users/{ana.username}/followers", headers=bo.headers),
        ),
        (
            f"{API}/accounts",
            "post",
            "201",
            http.post(
                f"{API}/accounts", json={"username": f"s{ana.username}", "password": PASSWORD}
            ),
        ),
        (
            f"{API}/media/{{id}}/like",
            "put",
            "200",
            http.put(f"{API}/media/{media['id']}/like", headers=bo.headers),
        ),
        (
            f"{API}/media/{{id}}",
            "get",
            "404",
            http.get(f"{API}/media/1"),
        ),
    ]
    for path, method, status, response in checks:
        assert str(response.status_code) == status, (path, response.text)
        _check(_response_validator(openapi, path, method, status), response.json())


def test_schemas_are_strict_enough(
    http: httpx.Client, openapi: dict[str, Any], signup: Callable[..., Account]
) -> None:
    ana = signup()
    media = post_media(http, ana)
    user_schema = _response_validator(openapi, f"{API}/users/{{username}}", "get", "200")
    media_schema = _response_validator(openapi, f"{API}/media/{{id}}", "get", "200")
    user = http.get(f"{API}/users/{ana.username}").json()
    _check(user_schema, user)

    for key, bad in [("id", int(user["id"])), ("follower_count", "0"), ("username", None)]:
        broken = {**user, key: bad}
        assert list(user_schema.iter_errors(broken)), f"schema accepts User with {key}={bad!r}"
    missing = {k: v for k, v in user.items() if k != "username"}
    assert list(user_schema.iter_errors(missing)), "schema accepts User without username"

    broken_media = copy.deepcopy(media)
    broken_media["owner"]["id"] = int(media["owner"]["id"])
    assert list(media_schema.iter_errors(broken_media)), "schema accepts an integer owner id"
    no_images = {k: v for k, v in media.items() if k != "images"}
    assert list(media_schema.iter_errors(no_images)), "schema accepts Media without images"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"{API}/nope"),
        ("GET", f"{API}/users/x/nope"),
        ("POST", f"{API}/media/1/nope"),
        ("GET", "/api/v2/feed"),
        ("GET", f"{API}"),
    ],
)
def test_unknown_route_is_404_error(http: httpx.Client, method: str, path: str) -> None:
    assert_error(http.request(method, path), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", f"{API}/feed", "GET"),
        ("GET", f"{API}/accounts", "POST"),
        ("PUT", f"{API}/sessions", "POST"),
        ("POST", f"{API}/me", "PATCH"),
        ("PUT", f"{API}/media/1", "GET"),  # PATCH edits a post since the second part
        ("POST", "/healthz", "GET"),
    ],
)
def test_wrong_method_is_405_error(
    http: httpx.Client, method: str, path: str, allowed: str
) -> None:
    response = http.request(method, path)
    assert_error(response, 405, "method_not_allowed")
    assert allowed in response.headers.get("allow", "").upper().replace(" ", "").split(",")


def test_errors_never_leak_internals(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    attempts = [
        http.get(f"{API}/media/{'9' * 400}"),
        http.get(f"{API}/users/{'x' * 5000}"),
        http.get(f"{API}/users/%27%20OR%201=1--"),
        http.get(f"{API}/media/1%27;DROP%20TABLE%20media;--"),
        http.post(f"{API}/sessions", json={"username": "' OR 1=1 --", "password": "x" * 8}),
        http.get(f"{API}/feed", headers=ana.headers, params={"cursor": "' OR 1=1 --"}),
        http.get(f"{API}/feed", headers=ana.headers, params={"limit": "1; DROP TABLE media"}),
        http.post(
            f"{API}/accounts", content=b"\x00\x01\x02", headers={"Content-Type": "application/json"}
        ),
        http.patch(f"{API}/me", headers=ana.headers, content=b"[" * 5000),
    ]
    for response in attempts:
        assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
        assert_error(response, response.status_code)


# --------------------------------------------------------------------------- rate limit


@pytest.fixture(scope="module")
def rate_limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"GRAMSTACK_LOGIN_RATE_PER_MINUTE": "3"}
    # Two workers: the limit holds for the server, not per worker process.
    with extra_server(tmp_path_factory, env, workers=2) as proc:
        yield proc


def test_login_rate_limit_is_429_with_retry_after(rate_limited_server: ServerProcess) -> None:
    with api_client(rate_limited_server.base_url) as client:
        account = signup_user(client)
    body = {"username": account.username, "password": account.password}
    responses = []
    for _ in range(6):
        # A new connection each time, so both workers take turns answering.
        with api_client(rate_limited_server.base_url) as client:
            responses.append(client.post(f"{API}/sessions", json=body))
    codes = [r.status_code for r in responses]
    assert codes == [201, 201, 201, 429, 429, 429], codes
    for response in responses[3:]:
        assert_error(response, 429, "rate_limited")
        retry_after = response.headers.get("retry-after", "")
        assert retry_after.isdigit() and 1 <= int(retry_after) <= 60, response.headers


def test_rate_limit_does_not_block_other_endpoints(rate_limited_server: ServerProcess) -> None:
    with api_client(rate_limited_server.base_url) as client:
        account = signup_user(client)
        wrong = {"username": account.username, "password": "wrong password"}
        codes = [client.post(f"{API}/sessions", json=wrong).status_code for _ in range(5)]
        assert set(codes) <= {401, 429} and codes[-1] == 429, codes
        assert client.get("/healthz").status_code == 200
        assert client.get(f"{API}/me", headers=account.headers).status_code == 200


def test_metrics_add_up_over_all_worker_processes(server: ServerProcess) -> None:
    """Each request on a new connection may land on either worker; /metrics,
    whichever worker answers it, must count all of them (another worker's
    within its next deadline sweep, a quarter of a second), never more."""
    route = re.compile(
        r'^gramstack_http_requests_total\{method="GET",route="/readyz",status="200"\} (\S+)$',
        re.M,
    )

    def count() -> float:
        text = httpx.get(server.base_url + "/metrics", timeout=30).text
        found = route.search(text)
        return float(found.group(1)) if found else 0.0

    before = count()
    for _ in range(40):
        assert httpx.get(server.base_url + "/readyz", timeout=30).status_code == 200
    eventually(lambda: count() == before + 40, timeout=5)
    time.sleep(0.5)  # two sweeps later: still every request once
    assert count() == before + 40
