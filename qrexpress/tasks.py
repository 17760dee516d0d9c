"""Celery adapters for QR Code Express: each takes ids (or nothing) and calls one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="qrexpress.low_stock_alert")
def send_low_stock_alert(product_id: int) -> int:
    from qrexpress.services.alerts import low_stock_alert_send

    return low_stock_alert_send(product_id=product_id)


@shared_task(name="qrexpress.expiry_reminders")
def send_expiry_reminders() -> int:
    from qrexpress.services.alerts import expiry_reminders_send

    return expiry_reminders_send()


@shared_task(name="qrexpress.stock_sync")
def stock_sync() -> dict:
    """Daily: obtain every linked product's units at SIBS and flag any drift."""
    from qrexpress.services.sibs_stock import stock_sync_all

    return stock_sync_all()


@shared_task(name="qrexpress.push_stock")
def push_stock(product_id: int, operation: str, units: int, operation_id: str = "") -> bool:
    from qrexpress.services.sibs_stock import stock_push

    return stock_push(product_id=product_id, operation=operation, units=units, operation_id=operation_id)
