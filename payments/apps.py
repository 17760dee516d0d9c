from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from payments import demo  # noqa: F401  (registers the seed_demo hook)
        from payments.selectors import operations_panel, timeline

        timeline.register(operations_panel.timeline_entries)

        from backoffice import page_sections
        from payments.views.methods import PAGE, methods_context

        page_sections.register_page(page_sections.Page(PAGE, "payments/methods.html", methods_context, no_store=True))

        # Payment requests: who asked for a payment on its transaction's timeline, and the admin.
        from payments.requests import ready as payment_requests_ready

        payment_requests_ready()
