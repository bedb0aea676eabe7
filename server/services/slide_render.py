"""PDF pages to images with PDFium (``pypdfium2``), for the slides a teacher presents.

Only PDFium's parser and rasteriser are used: no form environment is set up, so no JavaScript
or form action in a file ever runs, and annotations' appearance streams are drawn without
forms (``may_draw_forms=False``). Every page is bounded before rendering: its size in points,
its aspect, and the pixels of the image (``MAX_PIXELS``), so a "PDF bomb" (a huge page count or
a huge page) is refused or drawn small, never allocated at full size. PDFium is not
thread-safe: every call into it holds ``PDFIUM_LOCK`` (rendering runs in a worker thread).
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pypdfium2.raw as pdfium_c  # type: ignore[import-untyped]
from PIL import Image

from server.domain.errors import BadInput

PDFIUM_LOCK: Final = threading.Lock()
MAX_PAGE_POINTS: Final = 14_400.0
"""200 inches, the largest page the PDF specification allows at the default user unit."""
MAX_ASPECT: Final = 20.0
MAX_PIXELS: Final = 4_000_000
"""Pixels of one rendered page at most, whatever its size."""


@dataclass(frozen=True, slots=True)
class Size:
    """One rendition of every page: ``<page>.<name>.<ext>`` at ``width`` pixels wide."""

    name: str
    width: int
    format: str
    quality: int
    ext: str


FULL: Final = Size("full", 1280, "WEBP", 80, "webp")
SMALL: Final = Size("small", 800, "WEBP", 40, "webp")
"""For weak links (audio + slides): a slide of text, a chart and a photo is about 16 KB."""
SIZES: Final = {s.name: s for s in (FULL, SMALL)}
MEDIA_TYPES: Final = {"webp": "image/webp"}


@dataclass(frozen=True, slots=True)
class PdfFacts:
    pages: int


def inspect_pdf(data: bytes, max_pages: int) -> PdfFacts:
    """Open the PDF and check it: readable, not encrypted, at most ``max_pages`` pages, each
    page of a sane size. BadInput, in words a teacher understands, otherwise."""
    if not data.startswith(b"%PDF-"):
        raise BadInput("this file is not a PDF (it does not start with %PDF-)")
    with PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
                raise BadInput(
                    "this PDF is protected by a password: save it again without protection"
                ) from None
            if exc.err_code == pdfium_c.FPDF_ERR_SECURITY:
                raise BadInput("this PDF is encrypted: save it again without protection") from None
            raise BadInput("this PDF could not be read (damaged or incomplete file)") from None
        try:
            if pdfium_c.FPDF_GetSecurityHandlerRevision(pdf.raw) != -1:
                raise BadInput("this PDF is encrypted: save it again without protection")
            pages = len(pdf)
            if pages < 1:
                raise BadInput("this PDF has no pages")
            if pages > max_pages:
                raise BadInput(f"this PDF has {pages} pages; at most {max_pages} are allowed")
            for index in range(pages):
                width, height = _page_size(pdf, index)
                _check_size(index + 1, width, height)
        finally:
            pdf.close()
    return PdfFacts(pages=pages)


def _page_size(pdf: pdfium.PdfDocument, index: int) -> tuple[float, float]:
    """Without loading the page (cheap even for thousands)."""
    size = pdf.get_page_size(index)
    return float(size[0]), float(size[1])


def _check_size(page: int, width: float, height: float) -> None:
    if not (width >= 1 and height >= 1):
        raise BadInput(f"page {page} has no size")
    if width > MAX_PAGE_POINTS or height > MAX_PAGE_POINTS:
        raise BadInput(f"page {page} is larger than 200 inches")
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise BadInput(f"page {page} is too long and thin to show as a slide")


def render_scale(width: float, height: float, target_width: int) -> float:
    """Scale from points to pixels: ``target_width`` wide, never over ``MAX_PIXELS``."""
    scale = target_width / width
    if width * height * scale * scale > MAX_PIXELS:
        scale = (MAX_PIXELS / (width * height)) ** 0.5
    return scale


def page_path(folder: Path, page: int, size: Size) -> Path:
    return folder / f"{page}.{size.name}.{size.ext}"


def render_page(data: bytes, page: int, folder: Path) -> None:
    """Render page ``page`` (1-based) in every size into ``folder`` (written, then renamed, so
    a half-written image is never served)."""
    with PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(data)
        try:
            pdf_page = pdf[page - 1]
            try:
                width, height = pdf_page.get_size()
                _check_size(page, width, height)
                scale = render_scale(width, height, FULL.width)
                bitmap = pdf_page.render(scale=scale, may_draw_forms=False)
                image: Image.Image = bitmap.to_pil()
                bitmap.close()
            finally:
                pdf_page.close()
        finally:
            pdf.close()
    image = image.convert("RGB")
    for size in SIZES.values():
        out = image
        if image.width > size.width:
            height_px = max(1, round(image.height * size.width / image.width))
            out = image.resize((size.width, height_px), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        out.save(buffer, format=size.format, quality=size.quality, method=4)
        final = page_path(folder, page, size)
        part = final.with_name(final.name + ".part")
        part.write_bytes(buffer.getvalue())
        part.replace(final)
