from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "reconciliation"
    verbose_name = "Reconciliation"

    def ready(self) -> None:
        from payments.selectors import listing
        from reconciliation.selectors import transactions_by_settlement

        listing.register_settlement_filter(transactions_by_settlement)
