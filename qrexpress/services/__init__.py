"""Writes of QR Code Express. Every stock change goes through :mod:`.stock`."""

from qrexpress.services.errors import QrExpressError
from qrexpress.services.purchases import fulfilment_set, purchase_record_from_transaction
from qrexpress.services.stock import stock_change

__all__ = ["QrExpressError", "fulfilment_set", "purchase_record_from_transaction", "stock_change"]
