from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.api.conftest import (
    API,
    Account,
    assert_comment,
    assert_error,
    comment,
    delete_media,
    eventually,
    get_media,
    ids,
    paginate,
    post_media,
)


def post_comment(http: httpx.Client, who: Account | None, media_id: str, body: Any) -> Any:
    headers = who.headers if who else {}
    return http.post(f"{API}/media/{media_id}/comments", headers=headers, json=body)


def test_post_comment_returns_comment(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana, bo = signup(), signup()
    media = post_media(http, ana)
    response = post_comment(http, bo, media["id"], {"text": "nice 🌅"})
    assert response.status_code == 201, response.text
    item = response.json()
    assert_comment(item, bo)
    assert item["media_id"] == media["id"]
    assert item["text"] == "nice 🌅"
    assert get_media(http, media["id"], bo)["comment_count"] == 1


def test_comments_are_listed_oldest_first(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo = signup(), signup()
    media = post_media(http, ana)
    posted = [comment(http, who, media["id"], f"c{i}") for i, who in enumerate([bo, ana, bo])]
    listed = paginate(http, f"{API}/media/{media['id']}/comments", bo)
    assert ids(listed) == ids(posted)
    assert [c["text"] for c in listed] == ["c0", "c1", "c2"]
    for item in listed:
        assert_comment(item)
    assert [c["author"]["id"] for c in listed] == [bo.id, ana.id, bo.id]

    def public() -> None:
        assert ids(paginate(http, f"{API}/media/{media['id']}/comments")) == ids(posted)
        assert get_media(http, media["id"])["comment_count"] == 3

    eventually(public)


def test_comment_on_own_media(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    media = post_media(http, ana)
    item = comment(http, ana, media["id"], "first!")
    assert_comment(item, ana)
    assert get_media(http, media["id"], ana)["comment_count"] == 1


@pytest.mark.parametrize("text", ["x", "y" * 2200, "é" * 2200, "line\nbreak", "  padded  "])
def test_comment_text_boundaries_are_accepted(
    http: httpx.Client, signup: Callable[..., Account], text: str
) -> None:
    ana = signup()
    media = post_media(http, ana)
    response = post_comment(http, ana, media["id"], {"text": text})
    assert response.status_code == 201, response.text
    listed = paginate(http, f"{API}/media/{media['id']}/comments", ana)
    assert [c["text"] for c in listed] == [response.json()["text"]]
    assert response.json()["text"].strip() == text.strip()


@pytest.mark.parametrize("text", ["", "z" * 2201])
def test_comment_text_out_of_range_is_422(
    http: httpx.Client, signup: Callable[..., Account], text: str
) -> None:
    ana = signup()
    media = post_media(http, ana)
    assert_error(post_comment(http, ana, media["id"], {"text": text}), 422, "validation_failed")
    assert get_media(http, media["id"], ana)["comment_count"] == 0
    assert paginate(http, f"{API}/media/{media['id']}/comments", ana) == []


@pytest.mark.parametrize(
    "body",
    [{}, {"text": 5}, {"text": None}, {"text": ["a"]}, {"text": "ok", "extra": 1}, ["ok"], "ok"],
    ids=lambda body: repr(body)[:40],
)
def test_comment_bad_body_is_400(
    http: httpx.Client, signup: Callable[..., Account], body: Any
) -> None:
    ana = signup()
    media = post_media(http, ana)
    assert_error(post_comment(http, ana, media["id"], body), 400, "invalid_request")
    assert get_media(http, media["id"], ana)["comment_count"] == 0


def test_comment_malformed_json_is_400(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    media = post_media(http, ana)
    response = http.post(
        f"{API}/media/{media['id']}/comments",
        headers={**ana.headers, "Content-Type": "application/json"},
        content=b'{"text": ',
    )
    assert_error(response, 400, "invalid_request")


def test_comment_without_token_is_401(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    media = post_media(http, ana)
    assert_error(post_comment(http, None, media["id"], {"text": "hi"}), 401, "unauthorized")


def test_comments_on_unknown_media_are_404(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana = signup()
    for media_id in ("1", "abc", "99999999999999999999999"):
        assert_error(post_comment(http, ana, media_id, {"text": "hi"}), 404, "not_found")
        assert_error(http.get(f"{API}/media/{media_id}/comments"), 404, "not_found")


def test_author_can_delete_comment(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana, bo = signup(), signup()
    media = post_media(http, ana)
    keep = comment(http, bo, media["id"], "keep")
    gone = comment(http, bo, media["id"], "gone")
    response = http.delete(f"{API}/comments/{gone['id']}", headers=bo.headers)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert ids(paginate(http, f"{API}/media/{media['id']}/comments", bo)) == [keep["id"]]
    assert get_media(http, media["id"], bo)["comment_count"] == 1
    again = http.delete(f"{API}/comments/{gone['id']}", headers=bo.headers)
    assert_error(again, 404, "not_found")

    def public() -> None:
        assert ids(paginate(http, f"{API}/media/{media['id']}/comments")) == [keep["id"]]
        assert get_media(http, media["id"])["comment_count"] == 1

    eventually(public)


def test_media_owner_can_delete_any_comment(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo = signup(), signup()
    media = post_media(http, ana)
    item = comment(http, bo, media["id"], "rude")
    response = http.delete(f"{API}/comments/{item['id']}", headers=ana.headers)
    assert response.status_code == 204, response.text
    assert paginate(http, f"{API}/media/{media['id']}/comments", ana) == []
    assert get_media(http, media["id"], ana)["comment_count"] == 0


def test_others_cannot_delete_comment(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana, bo, cy = signup(), signup(), signup()
    media = post_media(http, ana)
    item = comment(http, bo, media["id"], "mine")
    assert_error(http.delete(f"{API}/comments/{item['id']}", headers=cy.headers), 403, "forbidden")
    assert_error(http.delete(f"{API}/comments/{item['id']}"), 401, "unauthorized")
    assert ids(paginate(http, f"{API}/media/{media['id']}/comments", cy)) == [item["id"]]
    assert get_media(http, media["id"], cy)["comment_count"] == 1


def test_delete_unknown_comment_is_404(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    for comment_id in ("1", "abc", "-1", "99999999999999999999999"):
        response = http.delete(f"{API}/comments/{comment_id}", headers=ana.headers)
        assert_error(response, 404, "not_found")


def test_comments_of_deleted_media_are_gone(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo = signup(), signup()
    media = post_media(http, ana)
    item = comment(http, bo, media["id"], "soon gone")
    delete_media(http, ana, media["id"])
    assert_error(http.get(f"{API}/media/{media['id']}/comments", headers=ana.headers), 404)

    def gone() -> None:
        assert_error(http.get(f"{API}/media/{media['id']}/comments"), 404, "not_found")
        response = post_comment(http, bo, media["id"], {"text": "late"})
        assert_error(response, 404, "not_found")
        deleted = http.delete(f"{API}/comments/{item['id']}", headers=bo.headers)
        assert_error(deleted, 404, "not_found")

    eventually(gone)
