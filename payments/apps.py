from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from payments import (
            demo,  # noqa: F401  (registers the seed_demo hook)
            operations_ui,
            timeline,
        )

        timeline.register(operations_ui.timeline_entries)
