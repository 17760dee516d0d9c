from django.apps import AppConfig


class ExtractsConfig(AppConfig):
    name = "extracts"
    verbose_name = "Extracts"

    def ready(self) -> None:
        from extracts.audit import register_dataset

        register_dataset()
