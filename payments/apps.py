from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from payments import demo  # noqa: F401  (registers the seed_demo hook)
        from payments.methods import demo as methods_demo  # noqa: F401  (and the payment methods')
        from payments.selectors import operations_panel, timeline

        timeline.register(operations_panel.timeline_entries)

        from backoffice import page_sections
        from payments.views.methods import PAGE, methods_context

        page_sections.register_page(page_sections.Page(PAGE, "payments/methods.html", methods_context, no_store=True))

        # The tabs of the Payment methods page owned by payments (webhooks adds Inbound notifications).
        from django.utils.translation import gettext_lazy as _

        from backoffice.roles import Capability

        manage = Capability.MANAGE_PAYMENT_METHODS
        for order, key, label, url_name, merchant_wide in (
            (10, "methods", _("Methods"), "payments:methods", False),
            (20, "entities", _("Payment entities"), "payments:method_entities", False),
            (30, "mandates", _("Authorised payments"), "payments:method_mandates", False),
            (40, "tokens", _("Tokens"), "payments:method_tokens", False),
            (50, "credentials", _("Credentials"), "payments:credentials", False),
            (70, "approvals", _("Refund approvals"), "payments:operations_policy", True),
        ):
            page_sections.register_tab(
                page_sections.PageTab("payment_methods", key, label, url_name, manage, order, merchant_wide)
            )
        # Payment requests: who asked for a payment on its transaction's timeline, and the admin.
        from payments.requests import ready as payment_requests_ready

        payment_requests_ready()

        from payments.extracts import register_dataset

        register_dataset()
