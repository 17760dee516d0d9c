"""How the audit log words the events of webhooks and SIBS notifications (see
``backoffice.audit_display``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from backoffice.audit_display import register_field, register_sentence
from webhooks.models import DeliveryState, InboundState, WebhookKind, WebhookLanguage


def _label(choices, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


for _action, _template in (
    ("outbound_webhook.created", gettext_lazy("%(actor)s created the webhook %(object)s")),
    ("outbound_webhook.updated", gettext_lazy("%(actor)s changed the webhook %(object)s")),
    ("outbound_webhook.enabled", gettext_lazy("%(actor)s turned on the webhook %(object)s")),
    ("outbound_webhook.disabled", gettext_lazy("%(actor)s turned off the webhook %(object)s")),
    ("outbound_webhook.key_rotated", gettext_lazy("%(actor)s replaced the key of the webhook %(object)s")),
    ("outbound_webhook.test_sent", gettext_lazy("%(actor)s sent a test to the webhook %(object)s")),
    ("webhook_delivery.resend", gettext_lazy("%(actor)s sent a notification again: %(object)s")),
    ("webhook_delivery.recover", gettext_lazy("%(actor)s sent the missed notifications again")),
    ("webhook_secret.created", gettext_lazy("%(actor)s added the SIBS notification secret %(object)s")),
    ("webhook_secret.revoked", gettext_lazy("%(actor)s revoked the SIBS notification secret %(object)s")),
    ("inbound_endpoint.updated", gettext_lazy("%(actor)s changed how SIBS notifications are answered")),
    ("inbound_notification.reprocess", gettext_lazy("%(actor)s asked to process a SIBS notification again")),
):
    register_sentence(_action, _template)

register_field(
    "kind", gettext_lazy("Type"), lambda v, c: _label(WebhookKind, v), object_type="webhooks.outboundwebhook"
)
register_field("language", gettext_lazy("Language"), lambda v, c: _label(WebhookLanguage, v))
register_field("notification_types", gettext_lazy("Notifications"), None)
register_field("url", gettext_lazy("Address"), None)
register_field("email_to", gettext_lazy("Send to"), None)
register_field("failure_email", gettext_lazy("Failure alerts to"), None)
register_field("key_hint", gettext_lazy("Key ends in"), None)
register_field("key_origin", gettext_lazy("Key origin"), None)
register_field("acknowledged", gettext_lazy("Acknowledged"), None)
register_field("notification_id", gettext_lazy("Notification"), None)
register_field("since", gettext_lazy("Since"), None)
register_field("webhook", gettext_lazy("Webhook"), None)
register_field("recovered", gettext_lazy("Notifications sent again"), None)
register_field("ack_status_code", gettext_lazy("Answer status code"), None)
register_field(
    "state", gettext_lazy("State"), lambda v, c: _label(DeliveryState, v), object_type="webhooks.webhookdelivery"
)
register_field(
    "state", gettext_lazy("State"), lambda v, c: _label(InboundState, v), object_type="webhooks.inboundnotification"
)
