"""Writes of the payment-methods capability: settings and entities (``settings``), the check
against SIBS (``check``), requests for new methods (``requests``)."""
