from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "SIBS sandbox gateway"

    def ready(self) -> None:
        from sandbox import demo  # noqa: F401  (registers the seed_demo hooks)
