"""The app's Celery tasks, gathered where Celery's autodiscovery looks (``<app>.tasks``).

Each side keeps its own thin adapters beside its services: :mod:`webhooks.inbound.tasks`
(process, sweep, prune) and :mod:`webhooks.outbound.tasks` (deliver, sweep, digest). Task names
are explicit, so moving an adapter never renames a task in flight.
"""

from webhooks.inbound.tasks import process_inbound, process_inbound_batch, prune_rejected, sweep_inbound
from webhooks.outbound.tasks import deliver_webhooks, failure_digest, sweep_deliveries

__all__ = [
    "deliver_webhooks",
    "failure_digest",
    "process_inbound",
    "process_inbound_batch",
    "prune_rejected",
    "sweep_deliveries",
    "sweep_inbound",
]
