"""Reading a report PDF as a person would see it: its text, page by page, and its pages
as pixels (pypdfium2, the PDF engine of Chromium)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from numpy.typing import NDArray


def page_texts(pdf: Path) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def page_pixels(pdf: Path, index: int, scale: float = 2.0) -> NDArray[np.int16]:
    """Page ``index`` rendered at ``scale`` × 72 dpi, as an RGB array."""
    document = pdfium.PdfDocument(pdf)
    try:
        image = document[index].render(scale=scale).to_pil().convert("RGB")
    finally:
        document.close()
    return np.asarray(image, dtype=np.int16)


def pixels_of(image: NDArray[np.int16], colour: str, tolerance: int = 24) -> int:
    """How many pixels are within ``tolerance`` (per channel) of ``#rrggbb``."""
    wanted = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    close = np.abs(image - wanted).max(axis=2) <= tolerance
    return int(close.sum())


def line_with(text: str, start: str) -> str:
    """The first line of ``text`` that begins with ``start``."""
    for line in text.splitlines():
        if line.strip().startswith(start):
            return line.strip()
    raise AssertionError(f"no line starting with {start!r} in:\n{text}")
