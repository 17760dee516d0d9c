"""QR images of a product, drawn with segno (pure Python: PNG and SVG without an imaging library)."""

from __future__ import annotations

import base64
import io

import segno

from qrexpress.models import QrProduct


def content_of(product: QrProduct) -> str:
    """What the code encodes: the content string SIBS gave (or the sandbox purchase page)."""
    return product.qr_content.strip() or product.qr_code_id


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_UPLOAD_BYTES = 512 * 1024


def uploaded(product: QrProduct) -> bytes | None:
    image = product.qr_image_png
    return bytes(image) if image else None


def png(product: QrProduct, *, scale: int = 10) -> bytes:
    image = uploaded(product)
    if image is not None:
        return image
    out = io.BytesIO()
    # Error correction "M" as MB WAY codes are printed on paper that gets folded and scuffed.
    segno.make(content_of(product), error="m", micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def svg(product: QrProduct, *, scale: int = 4, xmldecl: bool = True) -> str:
    image = uploaded(product)
    if image is not None:
        # SIBS's own image, wrapped: an SVG file that prints the same as the PNG.
        data = base64.b64encode(image).decode()
        declaration = '<?xml version="1.0" encoding="utf-8"?>\n' if xmldecl else ""
        return (
            f'{declaration}<svg xmlns="http://www.w3.org/2000/svg" width="300" height="300" viewBox="0 0 300 300">'
            f'<image width="300" height="300" href="data:image/png;base64,{data}"/></svg>'
        )
    out = io.BytesIO()
    segno.make(content_of(product), error="m", micro=False).save(
        out, kind="svg", scale=scale, border=4, xmldecl=xmldecl, svgns=True, title=product.product_name[:100]
    )
    return out.getvalue().decode()
