from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from payments.selectors import timeline
        from webhooks import demo  # noqa: F401  (registers the seed_demo hook)
        from webhooks.outbound.timeline import delivery_entries

        timeline.register(delivery_entries)

        from django.utils.translation import gettext_lazy as _

        from backoffice import page_sections
        from backoffice.roles import Capability
        from webhooks.inbound.views import INBOUND_PAGE, PAYMENT_METHODS_PAGE, inbound_context

        # The Inbound notifications tab of the Payment methods page.
        page_sections.register_page(
            page_sections.Page(INBOUND_PAGE, "webhooks/inbound_tab.html", inbound_context, no_store=True)
        )
        page_sections.register_tab(
            page_sections.PageTab(
                PAYMENT_METHODS_PAGE,
                "inbound",
                _("Inbound notifications"),
                "webhooks:inbound",
                Capability.MANAGE_PAYMENT_METHODS,
                order=60,
                merchant_wide=True,
            )
        )

        from webhooks.extracts import register_dataset

        register_dataset()
