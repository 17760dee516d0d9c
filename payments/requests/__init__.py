"""Payment requests: MB WAY pushes and MULTIBANCO references asked for from the backoffice
through SIBS's server-to-server checkout (seed 003). See :mod:`payments.requests.services`."""
