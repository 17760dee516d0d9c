from django.apps import AppConfig


class QrExpressConfig(AppConfig):
    name = "qrexpress"
    verbose_name = "QR Code Express"
