from __future__ import annotations

import io
import os
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image, PngImagePlugin

from tests.api.conftest import (
    API,
    Account,
    api_client,
    assert_error,
    assert_media,
    delete_media,
    eventually,
    extra_server,
    fresh_get,
    get_me,
    get_media,
    get_user,
    ids,
    make_animated,
    make_image,
    open_image,
    paginate,
    post_media,
    signup_user,
    upload_media,
)
from tests.support.server import ServerProcess

UPLOAD_LIMIT = 200_000
PIXEL_LIMIT = 1_000_000
SECRET = "GramstackTestCam"


def fetch_image(http: httpx.Client, url: str) -> Image.Image:
    response = http.get(url)
    assert response.status_code == 200, f"GET {url}: {response.status_code}"
    assert response.headers["content-type"].split(";")[0] == "image/jpeg"
    assert SECRET.encode() not in response.content
    image = open_image(response.content)
    assert image.format == "JPEG"
    return image


def assert_same_aspect(size: tuple[int, int], original: tuple[int, int]) -> None:
    """Same aspect ratio as ``original`` up to one pixel of rounding."""
    width, height = size
    ow, oh = original
    assert abs(height - width * oh / ow) <= 1.5 or abs(width - height * ow / oh) <= 1.5, (
        size,
        original,
    )


# --------------------------------------------------------------------------- upload


def test_upload_jpeg_returns_media(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    response = upload_media(http, ana.headers, make_image("JPEG", (1600, 1200)), caption="sunset")
    assert response.status_code == 201, response.text
    media = response.json()
    assert_media(media, ana)
    assert media["caption"] == "sunset"
    assert (media["like_count"], media["comment_count"], media["liked_by_me"]) == (0, 0, False)
    standard = fetch_image(http, media["images"]["standard"])
    assert (media["width"], media["height"]) in {(1600, 1200), standard.size}
    assert get_media(http, media["id"], ana) == media


@pytest.mark.parametrize(
    ("fmt", "mode", "filename", "content_type"),
    [
        ("PNG", "RGB", "a.png", "image/png"),
        ("PNG", "RGBA", "alpha.png", "image/png"),
        ("PNG", "P", "palette.png", "image/png"),
        ("PNG", "L", "grey.png", "image/png"),
        ("WEBP", "RGB", "a.webp", "image/webp"),
        ("WEBP", "RGBA", "alpha.webp", "image/webp"),
        ("JPEG", "L", "grey.jpg", "image/jpeg"),
        ("JPEG", "CMYK", "cmyk.jpg", "image/jpeg"),
    ],
)
def test_upload_accepts_png_webp_and_jpeg_modes(
    http: httpx.Client,
    signup: Callable[..., Account],
    fmt: str,
    mode: str,
    filename: str,
    content_type: str,
) -> None:
    ana = signup()
    color: Any = {"L": 120, "P": 3, "RGBA": (10, 200, 30, 100), "CMYK": (0, 50, 100, 0)}.get(
        mode, (10, 200, 30)
    )
    data = make_image(fmt, (300, 200), mode=mode, color=color)
    response = upload_media(http, ana.headers, data, filename=filename, content_type=content_type)
    assert response.status_code == 201, response.text
    media = response.json()
    assert_media(media, ana)
    thumb = fetch_image(http, media["images"]["thumbnail"])
    assert thumb.mode in {"RGB", "L"}
    assert_same_aspect(thumb.size, (300, 200))


def test_content_is_sniffed_not_trusted_from_filename(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana = signup()
    png = make_image("PNG", (40, 40))
    ok = upload_media(http, ana.headers, png, filename="lies.jpg", content_type="image/jpeg")
    assert ok.status_code == 201, ok.text
    text = upload_media(
        http, ana.headers, b"just some text" * 20, filename="x.jpg", content_type="image/jpeg"
    )
    assert_error(text, 415, "unsupported_media_type")


@pytest.mark.parametrize("size", [(1600, 1200), (900, 1600), (3000, 500), (100, 80), (1, 1)])
def test_resized_images_respect_bounds(
    http: httpx.Client, signup: Callable[..., Account], size: tuple[int, int]
) -> None:
    ana = signup()
    media = post_media(http, ana, size=size)
    thumb = fetch_image(http, media["images"]["thumbnail"])
    standard = fetch_image(http, media["images"]["standard"])
    assert max(thumb.size) <= 150, thumb.size
    assert max(standard.size) <= 1080, standard.size
    assert max(thumb.size) <= max(standard.size)
    if min(size) >= 100:
        assert_same_aspect(thumb.size, size)
        assert_same_aspect(standard.size, size)
    if max(size) > 1080:
        assert max(standard.size) > 150


def test_image_urls_need_no_auth_and_are_stable(
    server: ServerProcess, signup: Callable[..., Account], http: httpx.Client
) -> None:
    ana = signup()
    media = post_media(http, ana, size=(400, 300))
    for url in media["images"].values():
        bodies = set()
        for response in fresh_get(server.base_url, url, times=3):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("image/jpeg")
            bodies.add(response.content)
        assert len(bodies) == 1


def test_exif_and_gps_are_stripped(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    exif = Image.Exif()
    exif[0x010F] = SECRET  # Make
    exif[0x0131] = SECRET  # Software
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 7.5), 3: "E", 4: (13.0, 24.0, 1.0)}
    data = make_image("JPEG", (600, 400), exif=exif)
    assert SECRET.encode() in data
    response = upload_media(http, ana.headers, data)
    assert response.status_code == 201, response.text
    for url in response.json()["images"].values():
        image = fetch_image(http, url)
        exif_out = image.getexif()
        assert 0x8825 not in exif_out, dict(exif_out)
        assert not exif_out.get_ifd(0x8825)
        assert exif_out.get(0x010F) is None


def test_png_text_metadata_is_stripped(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SECRET)
    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), (1, 2, 3)).save(buffer, "PNG", pnginfo=info)
    assert SECRET.encode() in buffer.getvalue()
    response = upload_media(
        http, ana.headers, buffer.getvalue(), filename="a.png", content_type="image/png"
    )
    assert response.status_code == 201, response.text
    for url in response.json()["images"].values():
        fetch_image(http, url)


def test_caption_is_optional(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    response = upload_media(http, ana.headers, make_image())
    assert response.status_code == 201, response.text
    assert response.json()["caption"] in ("", None)


@pytest.mark.parametrize("caption", ["x" * 2200, "é🌅" * 733, "multi\nline\ncaption", ""])
def test_caption_round_trips(
    http: httpx.Client, signup: Callable[..., Account], caption: str
) -> None:
    ana = signup()
    response = upload_media(http, ana.headers, make_image(), caption=caption)
    assert response.status_code == 201, response.text
    assert (response.json()["caption"] or "") == caption
    assert (get_media(http, response.json()["id"], ana)["caption"] or "") == caption


def test_caption_over_2200_is_422(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    response = upload_media(http, ana.headers, make_image(), caption="x" * 2201)
    assert_error(response, 422, "validation_failed")
    assert get_me(http, ana)["media_count"] == 0


def test_upload_without_file_field_is_400(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana = signup()
    response = http.post(
        f"{API}/media",
        headers=ana.headers,
        files={"image": ("a.jpg", make_image(), "image/jpeg")},
        data={"caption": "no file"},
    )
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {"caption": "hi", "file": "aGVsbG8="}},
        {"data": {"caption": "hi", "file": "abc"}},
        {"content": b"\xff\xd8\xff\xe0", "headers": {"Content-Type": "image/jpeg"}},
        {"content": b"", "headers": {"Content-Type": "multipart/form-data"}},
        {
            "content": b"garbage without boundaries",
            "headers": {"Content-Type": "multipart/form-data; boundary=zzz"},
        },
    ],
    ids=["json", "urlencoded", "raw-image", "no-boundary", "broken-multipart"],
)
def test_non_multipart_upload_is_400(
    http: httpx.Client, signup: Callable[..., Account], kwargs: dict[str, Any]
) -> None:
    ana = signup()
    kwargs = dict(kwargs)
    headers = {**ana.headers, **kwargs.pop("headers", {})}
    response = http.post(f"{API}/media", headers=headers, **kwargs)
    assert_error(response, 400, "invalid_request")


def _truncated_jpeg() -> bytes:
    data = make_image("JPEG", (400, 300), noise=True)
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("data", "filename", "content_type"),
    [
        (b"", "empty.jpg", "image/jpeg"),
        (b"hello, I am not an image", "a.jpg", "image/jpeg"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "fake.jpg", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "fake.png", "image/png"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "a.svg", "image/svg+xml"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "a.pdf", "application/pdf"),
        (make_image("GIF", (40, 40)), "still.gif", "image/gif"),
        (make_image("BMP", (40, 40)), "a.bmp", "image/bmp"),
        (make_image("TIFF", (40, 40)), "a.tiff", "image/tiff"),
        (make_animated("GIF"), "anim.gif", "image/gif"),
        (make_animated("PNG"), "anim.png", "image/png"),
        (make_animated("WEBP"), "anim.webp", "image/webp"),
        (_truncated_jpeg(), "truncated.jpg", "image/jpeg"),
    ],
    ids=[
        "empty",
        "text",
        "jpeg-magic-only",
        "png-magic-only",
        "svg",
        "pdf",
        "gif",
        "bmp",
        "tiff",
        "animated-gif",
        "animated-png",
        "animated-webp",
        "truncated-jpeg",
    ],
)
def test_unsupported_uploads_are_415(
    http: httpx.Client,
    signup: Callable[..., Account],
    data: bytes,
    filename: str,
    content_type: str,
) -> None:
    ana = signup()
    response = upload_media(http, ana.headers, data, filename=filename, content_type=content_type)
    assert_error(response, 415, "unsupported_media_type")
    assert get_me(http, ana)["media_count"] == 0
    assert paginate(http, f"{API}/users/{ana.username}/media", ana) == []


def test_upload_without_token_is_401(http: httpx.Client) -> None:
    assert_error(upload_media(http, None, make_image()), 401, "unauthorized")
    bad = upload_media(http, {"Authorization": "Bearer nope"}, make_image())
    assert_error(bad, 401, "unauthorized")


def test_default_pixel_limit_rejects_huge_dimensions(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana = signup()
    buffer = io.BytesIO()
    Image.new("1", (8000, 8000)).save(buffer, "PNG")  # 64 MP in a few KiB
    response = upload_media(
        http, ana.headers, buffer.getvalue(), filename="bomb.png", content_type="image/png"
    )
    assert_error(response, 413, "too_large")


# --------------------------------------------------------------------------- reading


def test_get_media_anonymous_and_authenticated(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo = signup(), signup()
    media = post_media(http, ana, caption="hello")
    anonymous = eventually(lambda: get_media(http, media["id"]))
    assert_media(anonymous, ana)
    assert anonymous["liked_by_me"] is False
    assert anonymous["id"] == media["id"]
    assert anonymous["caption"] == "hello"
    assert anonymous["images"] == media["images"]
    assert get_media(http, media["id"], bo)["liked_by_me"] is False


@pytest.mark.parametrize(
    "media_id",
    ["1", "123456789012345678", "99999999999999999999999999", "abc", "-1", "0", "1.5", "0x10"],
)
def test_unknown_or_malformed_media_id_is_404(http: httpx.Client, media_id: str) -> None:
    assert_error(http.get(f"{API}/media/{media_id}"), 404, "not_found")


def test_media_count_and_user_media_page(
    http: httpx.Client, server: ServerProcess, signup: Callable[..., Account]
) -> None:
    ana = signup()
    posted = [post_media(http, ana, caption=f"#{i}") for i in range(3)]
    for reply in fresh_get(server.base_url, f"{API}/me", ana.headers):
        assert reply.json()["media_count"] == 3
    page = paginate(http, f"{API}/users/{ana.username}/media", ana)
    assert ids(page) == [m["id"] for m in reversed(posted)]
    assert [int(i) for i in ids(page)] == sorted((int(i) for i in ids(page)), reverse=True)
    for item in page:
        assert_media(item, ana)

    def public_view() -> None:
        assert get_user(http, ana.username)["media_count"] == 3
        assert ids(paginate(http, f"{API}/users/{ana.username}/media")) == ids(page)

    eventually(public_view)


def test_user_media_of_unknown_user_is_404(http: httpx.Client) -> None:
    assert_error(http.get(f"{API}/users/nosuchuser{os.getpid()}x/media"), 404, "not_found")


# --------------------------------------------------------------------------- deleting


def test_delete_media_by_owner(
    http: httpx.Client, server: ServerProcess, signup: Callable[..., Account]
) -> None:
    ana = signup()
    keep = post_media(http, ana, caption="keep")
    gone = post_media(http, ana, caption="gone")
    for url in gone["images"].values():
        fetch_image(http, url)

    response = http.delete(f"{API}/media/{gone['id']}", headers=ana.headers)
    assert response.status_code == 204, response.text
    assert response.content == b""

    for reply in fresh_get(server.base_url, f"{API}/media/{gone['id']}", ana.headers):
        assert_error(reply, 404, "not_found")
    assert get_me(http, ana)["media_count"] == 1
    assert ids(paginate(http, f"{API}/users/{ana.username}/media", ana)) == [keep["id"]]

    def gone_for_everyone() -> None:
        assert_error(http.get(f"{API}/media/{gone['id']}"), 404, "not_found")
        for url in gone["images"].values():
            assert http.get(url).status_code == 404, url
        assert get_user(http, ana.username)["media_count"] == 1
        assert ids(paginate(http, f"{API}/users/{ana.username}/media")) == [keep["id"]]

    eventually(gone_for_everyone)
    for url in keep["images"].values():
        fetch_image(http, url)
    again = http.delete(f"{API}/media/{gone['id']}", headers=ana.headers)
    assert_error(again, 404, "not_found")


def test_delete_someone_elses_media_is_403(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo = signup(), signup()
    media = post_media(http, ana)
    assert_error(http.delete(f"{API}/media/{media['id']}", headers=bo.headers), 403, "forbidden")
    assert_error(http.delete(f"{API}/media/{media['id']}"), 401, "unauthorized")
    assert get_media(http, media["id"], ana)["id"] == media["id"]
    assert get_me(http, ana)["media_count"] == 1


def test_delete_unknown_media_is_404(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    for media_id in ("1", "abc", "99999999999999999999999"):
        response = http.delete(f"{API}/media/{media_id}", headers=ana.headers)
        assert_error(response, 404, "not_found")


def test_unknown_image_url_is_404(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    media = post_media(http, ana)
    url = media["images"]["standard"]
    delete_media(http, ana, media["id"])
    eventually(lambda: http.get(url).status_code == 404)
    assert http.get("/media/1/std.jpg").status_code == 404


# --------------------------------------------------------------------------- limits


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {
        "GRAMSTACK_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
        "GRAMSTACK_MAX_IMAGE_PIXELS": str(PIXEL_LIMIT),
    }
    with extra_server(tmp_path_factory, env) as proc:
        yield proc


@pytest.fixture
def limited(limited_server: ServerProcess) -> Iterator[tuple[httpx.Client, Account]]:
    with api_client(limited_server.base_url) as client:
        yield client, signup_user(client)


def test_upload_over_byte_limit_is_413(limited: tuple[httpx.Client, Account]) -> None:
    client, ana = limited
    big = make_image("PNG", (300, 300), noise=True)
    assert len(big) > UPLOAD_LIMIT
    response = upload_media(client, ana.headers, big, filename="big.png", content_type="image/png")
    assert_error(response, 413, "too_large")
    small = upload_media(client, ana.headers, make_image("JPEG", (200, 200)))
    assert small.status_code == 201, small.text
    assert get_me(client, ana)["media_count"] == 1


def test_declared_content_length_over_limit_is_refused_before_the_body(
    limited_server: ServerProcess, limited: tuple[httpx.Client, Account]
) -> None:
    _, ana = limited
    url = urlsplit(limited_server.base_url)
    head = (
        f"POST {API}/media HTTP/1.1\r\n"
        f"Host: {url.netloc}\r\n"
        f"Authorization: Bearer {ana.token}\r\n"
        "Content-Type: multipart/form-data; boundary=gramstackboundary\r\n"
        f"Content-Length: {UPLOAD_LIMIT * 50}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    first_part = (
        b"--gramstackboundary\r\n"
        b'Content-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + b"\xff\xd8\xff" + b"\x00" * 1024
    )
    with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
        sock.sendall(head + first_part)
        received = b""
        deadline = time.monotonic() + 5
        try:
            while time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
                if b"\r\n\r\n" in received and b'"error"' in received:
                    break
        except (TimeoutError, ConnectionResetError):
            pass
    assert received, "server waited for the whole declared body instead of answering 413"
    status_line = received.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 413"), received[:300]
    assert b"too_large" in received, received[:500]


def test_chunked_upload_over_limit_is_413(limited: tuple[httpx.Client, Account]) -> None:
    client, ana = limited
    boundary = "chunkyboundary"
    payload = make_image("PNG", (300, 300), noise=True)
    assert len(payload) > UPLOAD_LIMIT

    def body() -> Iterator[bytes]:
        yield (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="big.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        for start in range(0, len(payload), 16384):
            yield payload[start : start + 16384]
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        f"{API}/media",
        headers={**ana.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=body(),
    )
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "too_large")
    assert get_me(client, ana)["media_count"] == 0


def test_upload_over_pixel_limit_is_413(limited: tuple[httpx.Client, Account]) -> None:
    client, ana = limited
    over = make_image("PNG", (1001, 1000))
    assert len(over) < UPLOAD_LIMIT
    response = upload_media(
        client, ana.headers, over, filename="wide.png", content_type="image/png"
    )
    assert_error(response, 413, "too_large")
    under = make_image("PNG", (1000, 999))
    response = upload_media(client, ana.headers, under, filename="ok.png", content_type="image/png")
    assert response.status_code == 201, response.text
    assert get_me(client, ana)["media_count"] == 1
