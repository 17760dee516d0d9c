"""QR images of a product, drawn with segno (pure Python: PNG and SVG without an imaging library)."""

from __future__ import annotations

import io

import segno

from qrexpress.models import QrProduct


def content_of(product: QrProduct) -> str:
    """What the code encodes: the content string SIBS gave (or the sandbox purchase page)."""
    return product.qr_content.strip() or product.qr_code_id


def png(product: QrProduct, *, scale: int = 10) -> bytes:
    out = io.BytesIO()
    # Error correction "M" as MB WAY codes are printed on paper that gets folded and scuffed.
    segno.make(content_of(product), error="m", micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def svg(product: QrProduct, *, scale: int = 4, xmldecl: bool = True) -> str:
    out = io.BytesIO()
    segno.make(content_of(product), error="m", micro=False).save(
        out, kind="svg", scale=scale, border=4, xmldecl=xmldecl, svgns=True, title=product.product_name[:100]
    )
    return out.getvalue().decode()
