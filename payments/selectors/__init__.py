"""Reads of the payments app, every one scoped by an Access: what the pages and the API share.

* :mod:`.records` — credentials, a transaction and its events;
* :mod:`.listing` — the transaction list: filters, search, keyset pages, tab counts, live changes;
* :mod:`.timeline` — a transaction's timeline, with sources other apps register;
* :mod:`.saved_views` — the list's saved views a person may see and manage;
* :mod:`.operations_panel` — the refund/capture/cancel panel and the requests on the timeline.
"""

from payments.selectors.records import (
    credential_get,
    credential_list,
    transaction_get,
    transaction_list,
    transaction_timeline,
)

__all__ = ["credential_get", "credential_list", "transaction_get", "transaction_list", "transaction_timeline"]
