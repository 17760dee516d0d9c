"""``{% load webhooks_text %}``: ``{{ delivery.last_error|delivery_error }}`` says a stored
delivery error in the reader's language (``webhooks.outbound.error_text``)."""

from django import template

from webhooks.outbound.error_text import error_text

register = template.Library()


@register.filter(name="delivery_error")
def delivery_error(value) -> str:
    return error_text(value)
