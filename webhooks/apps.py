from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from payments import timeline
        from webhooks import demo  # noqa: F401  (registers the seed_demo hook)
        from webhooks.timeline import delivery_entries

        timeline.register(delivery_entries)
