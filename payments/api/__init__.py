"""The payments API: ``transactions`` (list and detail) and ``operations`` (refund, capture,
cancel, approve, reject). Routed in :mod:`backoffice.api.urls`."""
