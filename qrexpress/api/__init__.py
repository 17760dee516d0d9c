"""API of QR Code Express, under ``/api/v1/qr-express/``.

* ``GET products`` (``q``, ``status``, ``limit`` ≤ 200, ``offset``) and ``GET products/{id}``;
* ``POST products/{id}/stock`` ``{"operation": "add"|"remove"|"define", "units": 5, "reason": "…"}``
  with an ``Idempotency-Key`` header (required): the same key again returns the same ledger entry
  without changing anything (``Idempotent-Replayed: true``); the same key with another body is a
  422. ``409 not_enough_stock`` when a removal exceeds the units; ``502 sibs_…`` when SIBS refused
  or did not answer (nothing changed here);
* ``GET products/{id}/ledger`` and ``GET purchases`` (``product``, ``fulfilment``, ``oversold``).

Scoped like everything else: the key's merchant, and its stores when limited. Buyers' personal
data only for roles that manage QR Code Express.
"""

from qrexpress.api.products import ProductDetailApi, ProductListApi
from qrexpress.api.purchases import FulfilmentApi, PurchaseListApi
from qrexpress.api.stock import LedgerApi, StockApi

__all__ = ["FulfilmentApi", "LedgerApi", "ProductDetailApi", "ProductListApi", "PurchaseListApi", "StockApi"]
