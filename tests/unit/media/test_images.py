from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pytest
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from gramstack.media.images import ProcessedImage, process_image
from gramstack.media.ports import ImageTooLarge, UnreadableImage

MAX_PIXELS = 50_000_000
RED = (255, 0, 0)
BLUE = (0, 0, 255)


def _encode(im: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    im.save(out, format=fmt, **params)
    return out.getvalue()


def _process(data: bytes, max_pixels: int = MAX_PIXELS) -> ProcessedImage:
    return process_image(io.BytesIO(data), max_pixels=max_pixels)


def _open(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def _size(data: bytes) -> tuple[int, int]:
    return _open(data).size


def _half_and_half(size: tuple[int, int]) -> Image.Image:
    """Red on the left half, blue on the right."""
    im = Image.new("RGB", size, BLUE)
    im.paste(RED, (0, 0, size[0] // 2, size[1]))
    return im


def _assert_clean_jpeg(data: bytes) -> None:
    im = _open(data)
    assert im.format == "JPEG"
    assert im.mode == "RGB"
    assert len(im.getexif()) == 0
    for key in ("exif", "icc_profile", "comment", "xmp", "photoshop", "adobe"):
        assert key not in im.info
    assert b"Exif\x00\x00" not in data
    assert b"http://ns.adobe.com/xap" not in data


def _pixel(data: bytes, xy: tuple[int, int]) -> tuple[int, ...]:
    pixel = _open(data).convert("RGB").getpixel(xy)
    assert isinstance(pixel, tuple)
    return pixel


def _close(pixel: tuple[int, ...], expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def _png_bomb(side: int) -> bytes:
    """A valid 1-bit PNG of side x side black pixels; megapixels compress to kilobytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte, then packed bits
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _exif_rotated_with_gps() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # stored sideways; rotate 90 degrees clockwise to view
    exif[ExifTags.Base.Make] = "Phone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (13.0, 24.0, 36.0)
    return exif


def test_jpeg_exif_orientation_is_applied_and_metadata_stripped() -> None:
    source = _encode(
        _half_and_half((200, 100)),
        "JPEG",
        exif=_exif_rotated_with_gps(),
        comment=b"taken at home",
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>',
        icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
    )
    original = _open(source)
    assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test input really has GPS
    assert {"comment", "xmp", "icc_profile"} <= original.info.keys()

    result = _process(source)

    assert (result.width, result.height) == (100, 200)
    assert _size(result.standard) == (100, 200)
    assert _size(result.thumbnail) == (75, 150)
    for data in (result.standard, result.thumbnail):
        _assert_clean_jpeg(data)
        assert b"taken at home" not in data
    # The left (red) half of the stored image is the top once turned upright.
    assert _close(_pixel(result.standard, (50, 20)), RED)
    assert _close(_pixel(result.standard, (50, 180)), BLUE)


@pytest.mark.parametrize("size", [(120, 90), (1600, 1200)])
def test_jpeg_comment_and_xmp_are_stripped(size: tuple[int, int]) -> None:
    source = _encode(
        _half_and_half(size),
        "JPEG",
        exif=_exif_rotated_with_gps(),
        comment=b"taken at home",
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>',
    )

    result = _process(source)

    for data in (result.standard, result.thumbnail):
        _assert_clean_jpeg(data)
        assert b"taken at home" not in data


def test_png_text_and_exif_are_stripped() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at home")
    info.add_itxt("XML:com.adobe.xmp", '<x:xmpmeta xmlns:x="adobe:ns:meta/"/>')
    source = _encode(_half_and_half((120, 90)), "PNG", pnginfo=info, exif=_exif_rotated_with_gps())

    result = _process(source)

    assert (result.width, result.height) == (90, 120)
    for data in (result.standard, result.thumbnail):
        _assert_clean_jpeg(data)
        assert b"taken at home" not in data


def test_png_transparency_becomes_white() -> None:
    im = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    im.paste((255, 0, 0, 255), (0, 0, 150, 200))

    result = _process(_encode(im, "PNG"))

    _assert_clean_jpeg(result.standard)
    assert _close(_pixel(result.standard, (50, 100)), RED)
    assert _close(_pixel(result.standard, (250, 100)), (255, 255, 255))


def _palette_with_transparency() -> Image.Image:
    im = Image.new("P", (64, 48), 0)
    im.putpalette([0, 0, 0, 255, 0, 0])
    im.info["transparency"] = 0
    return im


@pytest.mark.parametrize(
    ("image", "fmt", "expected"),
    [
        (Image.new("L", (64, 48), 128), "PNG", (128, 128, 128)),
        (Image.new("LA", (64, 48), (0, 0)), "PNG", (255, 255, 255)),
        (Image.new("1", (64, 48), 1), "PNG", (255, 255, 255)),
        (Image.new("I;16", (64, 48), 40000), "PNG", (156, 156, 156)),
        (Image.new("P", (64, 48), 3), "PNG", None),
        (_palette_with_transparency(), "PNG", (255, 255, 255)),
        (Image.new("RGB", (64, 48), RED), "PNG", RED),
        (Image.new("CMYK", (64, 48), (0, 255, 255, 0)), "JPEG", RED),
        (Image.new("L", (64, 48), 200), "JPEG", (200, 200, 200)),
        (Image.new("RGB", (64, 48), BLUE), "WEBP", BLUE),
        (Image.new("RGBA", (64, 48), (0, 0, 255, 0)), "WEBP", (255, 255, 255)),
    ],
    ids=lambda v: v.mode if isinstance(v, Image.Image) else str(v),
)
def test_colour_modes_become_rgb_jpeg(
    image: Image.Image, fmt: str, expected: tuple[int, int, int] | None
) -> None:
    result = _process(_encode(image, fmt))

    assert (result.width, result.height) == (64, 48)
    _assert_clean_jpeg(result.standard)
    _assert_clean_jpeg(result.thumbnail)
    if expected is not None:
        assert _close(_pixel(result.standard, (32, 24)), expected)


def test_webp_is_accepted() -> None:
    result = _process(_encode(_half_and_half((400, 300)), "WEBP", quality=90))

    assert (result.width, result.height) == (400, 300)
    assert _size(result.thumbnail) == (150, 112)
    _assert_clean_jpeg(result.standard)


@pytest.mark.parametrize(
    ("size", "standard", "thumbnail"),
    [
        ((2000, 1000), (1080, 540), (150, 75)),
        ((1000, 3000), (360, 1080), (50, 150)),
        ((1080, 1080), (1080, 1080), (150, 150)),
        ((3000, 2), (1080, 1), (150, 1)),
    ],
)
def test_large_png_is_scaled_to_fit(
    size: tuple[int, int], standard: tuple[int, int], thumbnail: tuple[int, int]
) -> None:
    result = _process(_encode(_half_and_half(size), "PNG"))

    assert (result.width, result.height) == standard
    assert _size(result.standard) == standard
    assert _size(result.thumbnail) == thumbnail


@pytest.mark.parametrize(
    ("orientation", "expected"), [(1, (1080, 540)), (6, (540, 1080)), (8, (540, 1080))]
)
def test_large_jpeg_decoded_at_reduced_scale_keeps_exact_sizes(
    orientation: int, expected: tuple[int, int]
) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    # 4400 wide: the decoder may halve it (2200 >= 2 x 1080) but no more.
    source = _encode(_half_and_half((4400, 2200)), "JPEG", exif=exif)

    result = _process(source)

    assert (result.width, result.height) == expected
    assert _size(result.standard) == expected


def test_small_image_is_not_upscaled() -> None:
    result = _process(_encode(_half_and_half((100, 50)), "JPEG"))

    assert (result.width, result.height) == (100, 50)
    assert _size(result.standard) == (100, 50)
    assert _size(result.thumbnail) == (100, 50)


def test_outputs_are_progressive_jpegs() -> None:
    result = _process(_encode(_half_and_half((500, 400)), "PNG"))

    for data in (result.standard, result.thumbnail):
        assert data.startswith(b"\xff\xd8")
        assert _open(data).info.get("progressive") == 1


def test_broken_icc_profile_is_ignored() -> None:
    source = _encode(Image.new("RGB", (40, 30), RED), "JPEG", icc_profile=b"not a profile" * 20)

    result = _process(source)

    _assert_clean_jpeg(result.standard)
    assert _close(_pixel(result.standard, (20, 15)), RED)


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (32, 32), RED), Image.new("RGB", (32, 32), BLUE)]
    return _encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"hello, this is not an image" * 10, id="text"),
        pytest.param(b"\xff\xd8\xff\xe0" + b"\x00" * 64, id="jpeg-magic-only"),
        pytest.param(_truncated(_encode(_half_and_half((300, 200)), "JPEG")), id="half-jpeg"),
        pytest.param(_truncated(_encode(_half_and_half((300, 200)), "PNG")), id="half-png"),
        pytest.param(_truncated(_encode(_half_and_half((300, 200)), "WEBP")), id="half-webp"),
        pytest.param(_encode(Image.new("RGB", (32, 32), RED), "GIF"), id="gif"),
        pytest.param(_encode(Image.new("RGB", (32, 32), RED), "BMP"), id="bmp"),
        pytest.param(_encode(Image.new("RGB", (32, 32), RED), "TIFF"), id="tiff"),
        pytest.param(_encode(Image.new("RGB", (32, 32), RED), "ICO"), id="ico"),
    ],
)
def test_undecodable_or_unsupported_input_is_refused(data: bytes) -> None:
    with pytest.raises(UnreadableImage, match="not a decodable JPEG, PNG or WebP image"):
        _process(data)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_animated_images_are_refused(fmt: str) -> None:
    data = _animated(fmt)
    assert getattr(_open(data), "n_frames", 1) == 2

    with pytest.raises(UnreadableImage, match="animated images are not supported"):
        _process(data)


def test_image_over_max_pixels_is_too_large() -> None:
    data = _encode(Image.new("RGB", (200, 200), RED), "PNG")

    with pytest.raises(ImageTooLarge) as info:
        _process(data, max_pixels=10_000)

    assert info.value.limit == 10_000
    assert _process(data, max_pixels=40_000).width == 200


@pytest.mark.parametrize(
    "side",
    [
        pytest.param(8_000, id="over-max-pixels"),
        pytest.param(10_000, id="over-pillow-warning-limit"),
        pytest.param(20_000, id="over-pillow-error-limit"),
    ],
)
def test_decompression_bomb_is_refused_before_decoding(
    side: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _png_bomb(side)
    assert len(data) < 200_000

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(Image, "_getdecoder", no_decoding)

    with pytest.raises(ImageTooLarge) as info:
        _process(data, max_pixels=MAX_PIXELS)

    assert info.value.limit == MAX_PIXELS


def test_pillow_global_limit_warning_does_not_escape(monkeypatch: pytest.MonkeyPatch) -> None:
    """Between Pillow's limit and twice it Pillow only warns; max_pixels decides."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6_000)

    result = _process(_encode(Image.new("RGB", (100, 80), RED), "PNG"))

    assert (result.width, result.height) == (100, 80)


def test_pillow_global_limit_error_is_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 3_000)

    with pytest.raises(ImageTooLarge):
        _process(_encode(Image.new("RGB", (100, 80), RED), "PNG"))
