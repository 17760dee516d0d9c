"""The outbound relay: every processed SIBS notification, re-encrypted in the SIBS format, to
the merchant's own systems (or as an e-mail), with retries, give-up messages and a daily digest.

Modules: ``classify`` (notification type of a payload), ``resolution`` (which webhook applies),
``ssrf`` (where a webhook may point), ``keys``, ``schedule`` (retries), ``transport`` (HTTP),
``engine`` (outbox, claims, sending, recording), ``emails``, ``digest``, ``operations`` (test,
resend, recover). The names below are the public interface of the engine.

The pages sit beside it with the app vocabulary: ``services`` (webhook configuration, keys),
``selectors`` (webhooks, deliveries, health, which webhook applies), ``forms``, ``views``, and
``timeline`` (deliveries on a transaction's timeline). They are not imported here, so the
engine loads without them.
"""

from webhooks.outbound.classify import classify
from webhooks.outbound.digest import digest_run
from webhooks.outbound.emails import notify_given_up
from webhooks.outbound.engine import (
    claim,
    deliveries_create,
    due_count,
    enqueue,
    enqueue_on_commit,
    pump,
    record,
    send_one,
    sweep,
    webhook_health,
)
from webhooks.outbound.keys import key_hint, suggest_key, validate_key
from webhooks.outbound.operations import TestVerdict, deliveries_recover, delivery_resend, sample_payload, send_test
from webhooks.outbound.resolution import Resolution, effective_webhooks
from webhooks.outbound.schedule import RetryPolicy
from webhooks.outbound.ssrf import validate_webhook_url

__all__ = [
    "Resolution",
    "RetryPolicy",
    "TestVerdict",
    "claim",
    "classify",
    "deliveries_create",
    "deliveries_recover",
    "delivery_resend",
    "digest_run",
    "due_count",
    "effective_webhooks",
    "enqueue",
    "enqueue_on_commit",
    "key_hint",
    "notify_given_up",
    "pump",
    "record",
    "sample_payload",
    "send_one",
    "send_test",
    "suggest_key",
    "sweep",
    "validate_key",
    "validate_webhook_url",
    "webhook_health",
]
