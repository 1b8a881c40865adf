"""Turn an untrusted upload into two plain JPEG renditions.

Only the pixels survive: EXIF (with GPS), XMP, ICC profiles and comments are dropped,
after the orientation and colour profile have been applied to the pixels. The pixel
count is checked from the header, before any pixel is decoded.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import BinaryIO

from PIL import Image, ImageCms, ImageOps

from gramstack.media.ports import AvatarImage, ImageTooLarge, ProcessedImage, UnreadableImage

__all__ = ["AvatarImage", "ProcessedImage", "process_avatar", "process_image"]

THUMBNAIL_SIZE = 150
STANDARD_SIZE = 1080
JPEG_QUALITY = 85

_FORMATS = ["JPEG", "PNG", "WEBP"]
# Image.UnidentifiedImageError is an OSError.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError)
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_WIDE_GREY_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})
_SRGB = ImageCms.createProfile("sRGB")
# Like Image.thumbnail: let the JPEG decoder downscale by 1/2, 1/4 or 1/8 while
# it decodes, but only while the result stays at least twice the target size.
_DRAFT_GAP = 2


def process_image(source: BinaryIO, *, max_pixels: int) -> ProcessedImage:
    # Pillow warns about quirks of untrusted files, and about sizes between its global
    # MAX_IMAGE_PIXELS and twice that. The outcome here is an image or an ImageRejected,
    # and max_pixels (checked from the header below) is the limit that counts.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        decoded, icc_profile = _decode(source, max_pixels)
        standard = _to_srgb(_resize(_flatten(decoded), STANDARD_SIZE), icc_profile)
        thumbnail = _resize(standard, THUMBNAIL_SIZE)
        return ProcessedImage(
            width=standard.width,
            height=standard.height,
            thumbnail=_encode(thumbnail),
            standard=_encode(standard),
        )


AVATAR_THUMBNAIL_SIZE = 150
AVATAR_STANDARD_SIZE = 320


def process_avatar(source: BinaryIO, *, max_pixels: int) -> AvatarImage:
    """A square center crop scaled to exactly 150 and 320 px (up if smaller)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        decoded, icc_profile = _decode(source, max_pixels)
        upright = _to_srgb(_flatten(decoded), icc_profile)
        side = min(upright.size)
        left = (upright.width - side) // 2
        top = (upright.height - side) // 2
        square = upright.crop((left, top, left + side, top + side))
        sizes = (AVATAR_STANDARD_SIZE, AVATAR_THUMBNAIL_SIZE)
        standard, thumbnail = (
            square.resize((n, n), Image.Resampling.LANCZOS, reducing_gap=3.0) for n in sizes
        )
        return AvatarImage(thumbnail=_encode(thumbnail), standard=_encode(standard))


def _decode(source: BinaryIO, max_pixels: int) -> tuple[Image.Image, bytes | None]:
    try:
        im = Image.open(source, formats=_FORMATS)
        _check_still(im)
        _check_pixels(im, max_pixels)
        target = _fit(im.size, STANDARD_SIZE)
        if target != im.size:
            im.draft(None, (target[0] * _DRAFT_GAP, target[1] * _DRAFT_GAP))
        im.load()
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge("image has too many pixels", limit=max_pixels) from exc
    except _DECODE_ERRORS as exc:
        raise UnreadableImage("not a decodable JPEG, PNG or WebP image") from exc
    icc_profile = im.info.get("icc_profile")
    _orient(im)
    return im, icc_profile if isinstance(icc_profile, bytes) and icc_profile else None


def _check_still(im: Image.Image) -> None:
    # A multi-picture JPEG (MPO: stereo pairs, HDR gain maps) is a still photo
    # followed by extra images; its first frame is the photo.
    if im.format == "MPO":
        return
    if getattr(im, "is_animated", False) or getattr(im, "n_frames", 1) > 1:
        raise UnreadableImage("animated images are not supported")


def _check_pixels(im: Image.Image, max_pixels: int) -> None:
    width, height = im.size
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"image is {width}x{height}, over the limit of {max_pixels} pixels", limit=max_pixels
        )


def _orient(im: Image.Image) -> None:
    # Broken EXIF should not cost the user a photo whose pixels decode fine.
    with contextlib.suppress(*_DECODE_ERRORS, KeyError, TypeError):
        ImageOps.exif_transpose(im, in_place=True)


def _flatten(im: Image.Image) -> Image.Image:
    """Reduce to 8-bit L, RGB or CMYK, with transparency composited onto white."""
    if im.mode in _WIDE_GREY_MODES:
        # convert("L") would clip 16-bit values rather than scale them.
        return im.convert("I").point(lambda v: v / 256).convert("L")
    if im.mode in _ALPHA_MODES or (im.mode in ("P", "L", "RGB") and "transparency" in im.info):
        rgba = im.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    if im.mode in ("L", "RGB", "CMYK"):
        return im
    return im.convert("RGB")


def _fit(size: tuple[int, int], limit: int) -> tuple[int, int]:
    width, height = size
    longest = max(width, height)
    if longest <= limit:
        return size
    if width >= height:
        return limit, max(1, round(height * limit / width))
    return max(1, round(width * limit / height)), limit


def _resize(im: Image.Image, limit: int) -> Image.Image:
    size = _fit(im.size, limit)
    if size == im.size:
        return im
    return im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _to_srgb(im: Image.Image, icc_profile: bytes | None) -> Image.Image:
    # Stripping a wide-gamut profile (Display P3 from phones) without converting
    # the pixels would leave the colours washed out.
    if icc_profile is not None:
        try:
            converted = ImageCms.profileToProfile(
                im, io.BytesIO(icc_profile), _SRGB, outputMode="RGB"
            )
        except (ImageCms.PyCMSError, *_DECODE_ERRORS, TypeError):
            converted = None
        if converted is not None:
            return converted
    return im.convert("RGB")


def _encode(im: Image.Image) -> bytes:
    # The JPEG encoder copies a "comment" from .info, so start from nothing.
    im.info = {}
    out = io.BytesIO()
    im.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue()
