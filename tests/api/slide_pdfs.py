"""PDFs for the slide tests: real ones drawn with Pillow or PDFium, and hand-made hostile ones."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
from PIL import Image, ImageDraw

COLOURS = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df")


def deck_pdf(pages: int = 3) -> bytes:
    """A deck whose page n is a coloured slide saying "Page n" (a different colour each)."""
    images = []
    for n in range(1, pages + 1):
        image = Image.new("RGB", (960, 540), COLOURS[(n - 1) % len(COLOURS)])
        draw = ImageDraw.Draw(image)
        draw.rectangle((60, 60, 900, 480), outline="white", width=8)
        draw.text((120, 200), f"Page {n}", fill="white", font_size=120)
        images.append(image)
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=72)
    return out.getvalue()


def blank_pdf(pages: int, width: float = 400, height: float = 300) -> bytes:
    pdf = pdfium.PdfDocument.new()
    for _ in range(pages):
        pdf.new_page(width, height)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def hand_made(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """A PDF from numbered objects (1..n, the catalog first) with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R " % (len(objects) + 1) + trailer_extra + b">>\n"
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


PAGE_TREE = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 300] >>",
]


def encrypted_pdf() -> bytes:
    """Standard security handler with a user password (the /U entry matches no empty password)."""
    encrypt = (
        b"<< /Filter /Standard /V 1 /R 2 /P -4 /O <" + b"11" * 32 + b"> /U <" + b"22" * 32 + b"> >>"
    )
    return hand_made([*PAGE_TREE, encrypt], b"/Encrypt 4 0 R /ID [<00112233> <00112233>] ")


def huge_page_count_pdf(count: int) -> bytes:
    """A page tree that claims ``count`` pages (one page object listed ``count`` times): the
    bomb's shape without its size."""
    kids = b" ".join([b"3 0 R"] * count)
    return hand_made(
        [
            PAGE_TREE[0],
            b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
            PAGE_TREE[2],
        ]
    )


def javascript_pdf() -> bytes:
    """A valid page with an OpenAction script: drawn, never run."""
    return hand_made(
        [
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
            PAGE_TREE[1],
            PAGE_TREE[2],
            b"<< /Type /Action /S /JavaScript /JS (app.alert\\('hi'\\);) >>",
        ]
    )
