"""The inbound side: SIBS's encrypted notifications in, stored, then applied to transactions.

A notification's path, in the order it runs:

* :mod:`.wsgi` — the lean WSGI fast path in front of Django for ``/hooks/sibs/<token>/``;
* :mod:`.endpoint` — the endpoint view: identifies the merchant by its URL token, opens the
  envelope with the merchant's secrets (:mod:`.keyring`), stores, acknowledges as SIBS expects;
* :mod:`.services` — storing (the durable insert before the answer), refused-notification log,
  endpoint and secret configuration, then processing: the payload is parsed
  (:mod:`payments.sibs.notification`) and applied by :mod:`payments.services.ledger`, and the
  outbound deliveries are written in the same transaction (:mod:`webhooks.outbound`);
* :mod:`.dispatch` — hands stored notifications to the worker in batches;
* :mod:`.views`, :mod:`.forms`, :mod:`.selectors` — the inbound section of the Payment methods
  page (secrets, acknowledgement) and the refused log.

Nothing here is imported at package import time, so the fast path stays lean.
"""
