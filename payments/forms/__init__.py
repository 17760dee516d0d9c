"""Forms of the payments pages: ``methods`` (gateway credentials) and ``operations`` (refund,
capture, cancel, decisions, the four-eyes setting)."""
