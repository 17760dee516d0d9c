from django.apps import AppConfig


class QrExpressConfig(AppConfig):
    name = "qrexpress"
    verbose_name = "QR Code Express"

    def ready(self) -> None:
        from payments.services import ledger
        from qrexpress.services import purchase_record_from_transaction

        def record_sale(txn) -> None:
            if txn.qr_code_id:
                purchase_record_from_transaction(txn)

        ledger.on_applied(record_sale)
