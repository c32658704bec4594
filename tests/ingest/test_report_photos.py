"""A citizen's photo is kept only as pixels: metadata gone, the right way up, and files
that are no image — or too many pixels to decode safely — refused by name."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image

from ingest.reports.photos import NotAnImageError, PhotoTooLargeError, clean_photo

LIMITS = {"max_bytes": 1024 * 1024, "max_pixels": 1_000_000}


def jpeg(size: tuple[int, int] = (200, 100), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(out, format="JPEG", **save)
    return out.getvalue()


def test_the_exif_orientation_is_applied_and_every_tag_dropped() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # the phone was held upright: rotate 90°
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N"}
    clean = clean_photo("upright.jpg", jpeg(exif=exif), **LIMITS)
    assert (clean.width, clean.height) == (100, 200)
    with Image.open(io.BytesIO(clean.jpeg)) as image:
        assert image.format == "JPEG"
        assert dict(image.getexif()) == {}
    assert b"PhoneMaker" not in clean.jpeg


def test_a_png_is_kept_as_a_jpeg() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (64, 64), (0, 0, 255, 128)).save(out, format="PNG")
    clean = clean_photo("drawing.png", out.getvalue(), **LIMITS)
    assert clean.jpeg.startswith(b"\xff\xd8")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a" + bytes(100), "is not a JPEG, PNG or WebP"),
        (b"%PDF-1.7\n", "is not a JPEG, PNG or WebP"),
        (jpeg()[:300], "cannot be decoded"),
        (jpeg((2000, 1000)), "is 2000x1000 pixels, more than the 1000000 accepted"),
    ],
    ids=["gif", "pdf", "truncated jpeg", "too many pixels"],
)
def test_what_is_no_acceptable_image_is_refused_by_name(data: bytes, message: str) -> None:
    with pytest.raises(NotAnImageError, match=message) as caught:
        clean_photo("evidence.jpg", data, **LIMITS)
    assert "'evidence.jpg'" in str(caught.value)


def test_a_photo_over_the_byte_cap_is_refused_before_it_is_decoded() -> None:
    with pytest.raises(PhotoTooLargeError, match=r"'big\.jpg' is 1048577 bytes"):
        clean_photo("big.jpg", bytes(1024 * 1024 + 1), **LIMITS)
