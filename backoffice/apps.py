from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = "Backoffice"

    def ready(self) -> None:
        from backoffice import signals  # noqa: F401  (connects audit receivers)
        from backoffice.audit_display import autodiscover

        autodiscover()  # each app's audit_sentences: how its events read in the audit log
