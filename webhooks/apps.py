from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from payments.selectors import timeline
        from webhooks import demo  # noqa: F401  (registers the seed_demo hook)
        from webhooks.outbound.timeline import delivery_entries

        timeline.register(delivery_entries)

        from backoffice import page_sections
        from webhooks.inbound.views import PAYMENT_METHODS_PAGE, inbound_context

        page_sections.register_section(
            page_sections.PageSection(
                PAYMENT_METHODS_PAGE, "inbound", "webhooks/_inbound_section.html", inbound_context, order=50
            )
        )
