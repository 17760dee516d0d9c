"""Payment requests: MB WAY pushes and MULTIBANCO references asked for from the backoffice
through SIBS's server-to-server checkout (seed 003). See :mod:`payments.requests.services`."""


def ready() -> None:
    """Called by the payments app once it is loaded."""
    from payments.requests import admin  # noqa: F401  (registers the admin)
    from payments.requests.selectors import register_timeline

    register_timeline()
