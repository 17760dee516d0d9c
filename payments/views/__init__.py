"""Pages of the payments app, one module per page family: ``list`` (the transaction list, its
counts, live feed and saved views), ``detail`` (a transaction), ``operations`` (refund, capture,
cancel, approvals, the four-eyes setting) and ``methods`` (the Payment methods page)."""
