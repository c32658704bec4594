"""A citizen's photo made safe to keep and to show: decoded, bounded, re-encoded.

A phone's JPEG carries EXIF with the GPS position of the citizen's home as often as of the
problem; the file's own bytes may also be no image at all, or a decompression bomb. So a
photo is never kept as sent: Pillow decodes it (which proves it is an image of an
accepted format), refuses more pixels than ``max_pixels`` before decoding them, and the
pixels alone are written again as a JPEG — no EXIF, no XMP, no comments survive. The
orientation the EXIF asked for is applied to the pixels first, so the photo still stands
the right way up.

    PhotoError
     ├── PhotoTooLargeError    more bytes than the cap (HTTP 413)
     └── NotAnImageError       not an image Pillow reads as JPEG, PNG or WebP, or too many
                               pixels (HTTP 415)
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
STORED_MEDIA_TYPE = "image/jpeg"


class PhotoError(ValueError):
    """A photo that is not kept; the message names it."""


class PhotoTooLargeError(PhotoError):
    pass


class NotAnImageError(PhotoError):
    pass


@dataclass(slots=True, frozen=True)
class CleanPhoto:
    """A photo as stored: a JPEG of the pixels only."""

    jpeg: bytes
    width: int
    height: int


def clean_photo(name: str, data: bytes, *, max_bytes: int, max_pixels: int) -> CleanPhoto:
    """The photo ``name`` re-encoded without metadata; ``PhotoError`` naming it otherwise."""
    if len(data) > max_bytes:
        raise PhotoTooLargeError(
            f"photo {name!r} is {len(data)} bytes, more than the {max_bytes} accepted"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise NotAnImageError(
                        f"photo {name!r} is {width}x{height} pixels, more than the"
                        f" {max_pixels} accepted"
                    )
                image.load()
                upright = ImageOps.exif_transpose(image)
                pixels = upright.convert("RGB")
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise NotAnImageError(
            f"photo {name!r} is not a JPEG, PNG or WebP image (or too large to decode)"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, PhotoError):
            raise
        raise NotAnImageError(f"photo {name!r} cannot be decoded as an image: {exc}") from None
    out = io.BytesIO()
    pixels.save(out, format="JPEG", quality=88, optimize=True)
    return CleanPhoto(out.getvalue(), pixels.width, pixels.height)
