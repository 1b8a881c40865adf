"""Carousels (1..10 photos with alt text), the medium rendition and caption edits."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import httpx

from tests.api.conftest import (
    API,
    Account,
    assert_error,
    assert_media,
    delete_media,
    get_json,
    get_me,
    get_media,
    make_image,
    open_image,
    post_media,
    signup_user,
)
from tests.support.server import ServerProcess

SIZES = [(1600, 1200), (300, 900), (64, 48)]


def upload(
    http: httpx.Client,
    account: Account,
    images: list[bytes],
    alt_texts: list[str] | None = None,
    caption: str | None = None,
) -> httpx.Response:
    files = [("file", (f"p{i}.jpg", data, "image/jpeg")) for i, data in enumerate(images)]
    fields: list[tuple[str, str]] = [("alt_text", text) for text in alt_texts or []]
    if caption is not None:
        fields.append(("caption", caption))
    # Text parts as (name, (None, value)) pairs: httpx keeps their order and repeats.
    parts = [*files, *((name, (None, value)) for name, value in fields)]
    return http.post(f"{API}/media", headers=account.headers, files=parts)


def fetch(http: httpx.Client, url: str) -> tuple[int, int]:
    response = http.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert response.headers["content-type"] == "image/jpeg"
    return open_image(response.content).size


def test_a_carousel_keeps_its_photos_in_order_with_their_alt_texts(
    http: httpx.Client, server: ServerProcess
) -> None:
    ana = signup_user(http)
    images = [make_image(size=size) for size in SIZES]
    response = upload(http, ana, images, ["first", "second", "third"], caption="trip")
    assert response.status_code == 201, response.text
    media = response.json()
    assert_media(media, ana)
    assert [p["alt_text"] for p in media["photos"]] == ["first", "second", "third"]
    assert media["alt_text"] == "first" and media["edited_at"] is None
    expected = [(1080, 810), (300, 900), (64, 48)]
    assert [(p["width"], p["height"]) for p in media["photos"]] == expected
    assert (media["width"], media["height"]) == expected[0]
    for photo, size in zip(media["photos"], expected, strict=True):
        images_of = photo["images"]
        assert fetch(http, images_of["standard"]) == size
        assert max(fetch(http, images_of["medium"])) <= 640
        assert max(fetch(http, images_of["thumbnail"])) <= 150
    assert fetch(http, media["photos"][0]["images"]["medium"]) == (640, 480)
    # The first photo keeps version 1's URLs.
    assert media["images"]["standard"] == f"/media/{media['id']}/std.jpg"
    assert get_media(http, media["id"])["photos"] == media["photos"]
    assert get_me(http, ana)["media_count"] == 1


def test_a_carousel_without_alt_text_has_empty_ones(http: httpx.Client) -> None:
    ana = signup_user(http)
    response = upload(http, ana, [make_image(), make_image()])
    assert response.status_code == 201, response.text
    assert [p["alt_text"] for p in response.json()["photos"]] == ["", ""]


def test_eleven_files_or_mismatched_alt_texts_are_400(http: httpx.Client) -> None:
    ana = signup_user(http)
    assert_error(upload(http, ana, [make_image()] * 11), 400, "invalid_request")
    assert_error(upload(http, ana, [make_image()] * 2, ["one"]), 400, "invalid_request")
    assert_error(upload(http, ana, [make_image()], ["one", "two"]), 400, "invalid_request")
    assert_error(upload(http, ana, [], caption="no photo"), 400, "invalid_request")
    assert get_me(http, ana)["media_count"] == 0


def test_alt_text_over_1000_characters_is_422(http: httpx.Client) -> None:
    ana = signup_user(http)
    assert_error(upload(http, ana, [make_image()], ["x" * 1001]), 422, "validation_failed")
    assert upload(http, ana, [make_image()], ["x" * 1000]).status_code == 201


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels (no pixel data):
    refused from the header alone, before anything is decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _blob_files(server: ServerProcess) -> set[str]:
    return {str(p) for p in server.data_dir.rglob("*.jpg")}


def test_a_bad_photo_rejects_the_whole_post_and_stores_nothing(
    http: httpx.Client, server: ServerProcess
) -> None:
    ana = signup_user(http)
    before = _blob_files(server)
    broken = [make_image(), make_image(), b"not an image at all", make_image()]
    assert_error(upload(http, ana, broken), 415, "unsupported_media_type")
    huge = [make_image(), _png_header(20_000, 20_000), make_image()]
    assert_error(upload(http, ana, huge), 413, "too_large")
    assert get_me(http, ana)["media_count"] == 0
    assert get_json(http, f"{API}/users/{ana.username}/media")["items"] == []
    assert _blob_files(server) - before == set()


def test_deleting_a_carousel_removes_every_photo_url(http: httpx.Client) -> None:
    ana = signup_user(http)
    media = upload(http, ana, [make_image(), make_image(), make_image()]).json()
    urls = [url for photo in media["photos"] for url in photo["images"].values()]
    assert all(http.get(url).status_code == 200 for url in urls)
    delete_media(http, ana, media["id"])
    assert [http.get(url).status_code for url in urls] == [404] * len(urls)


def test_photo_urls_outside_the_carousel_are_404(http: httpx.Client) -> None:
    ana = signup_user(http)
    media = upload(http, ana, [make_image(), make_image()]).json()
    for path in ("0/std.jpg", "2/std.jpg", "1/big.jpg", "x/std.jpg", "10/std.jpg"):
        assert http.get(f"/media/{media['id']}/{path}").status_code == 404, path


# -- caption edits -----------------------------------------------------------------


def edit(http: httpx.Client, who: Account, media_id: str, body: Any) -> httpx.Response:
    return http.patch(f"{API}/media/{media_id}", headers=who.headers, json=body)


def test_an_edit_changes_the_caption_and_alt_texts_and_sets_edited_at(
    http: httpx.Client,
) -> None:
    ana = signup_user(http)
    media = upload(http, ana, [make_image(), make_image()], caption="#old").json()
    response = edit(http, ana, media["id"], {"caption": "now #New", "alt_texts": ["a", "b"]})
    assert response.status_code == 200, response.text
    edited = response.json()
    assert_media(edited, ana)
    assert edited["caption"] == "now #New" and edited["hashtags"] == ["new"]
    assert [p["alt_text"] for p in edited["photos"]] == ["a", "b"]
    assert edited["edited_at"] is not None
    assert get_media(http, media["id"], ana) == edited
    only_alt = edit(http, ana, media["id"], {"alt_texts": ["c", "d"]}).json()
    assert only_alt["caption"] == "now #New" and only_alt["alt_text"] == "c"


def test_bad_edits_are_refused(http: httpx.Client) -> None:
    ana, bo = signup_user(http), signup_user(http)
    media_id = post_media(http, ana)["id"]
    assert_error(edit(http, ana, media_id, {"alt_texts": ["a", "b"]}), 422, "validation_failed")
    assert_error(edit(http, ana, media_id, {"alt_texts": []}), 422, "validation_failed")
    assert_error(edit(http, ana, media_id, {"alt_texts": ["x" * 1001]}), 422)
    assert_error(edit(http, ana, media_id, {"caption": "x" * 2201}), 422)
    assert_error(edit(http, ana, media_id, {"caption": 5}), 400, "invalid_request")
    assert_error(edit(http, ana, media_id, {"alt_texts": "a"}), 400, "invalid_request")
    assert_error(edit(http, ana, media_id, {"title": "x"}), 400, "invalid_request")
    assert_error(edit(http, bo, media_id, {"caption": "mine"}), 403, "forbidden")
    assert_error(edit(http, ana, "123456789", {"caption": "x"}), 404, "not_found")
    response = http.patch(f"{API}/media/{media_id}", json={"caption": "x"})
    assert_error(response, 401, "unauthorized")
    assert get_media(http, media_id)["edited_at"] is None
