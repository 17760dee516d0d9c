"""The Celery application: the worker and beat of every deployment, embedded or not."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

app = Celery("backoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    # A task is acknowledged only once it has run, and a task whose worker process died is
    # put back on the queue: acks_late alone drops the task of a killed child.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    timezone="UTC",
    enable_utc=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    beat_schedule={
        "purge-expired-sessions": {"task": "backoffice.purge_expired_sessions", "schedule": 3600.0},
        "sweep-inbound-notifications": {"task": "webhooks.sweep_inbound", "schedule": 60.0},
        "prune-rejected-notifications": {"task": "webhooks.prune_rejected", "schedule": 3600.0},
        # Outbound webhooks: due deliveries (the rows are the outbox) and the daily failure digest
        # (sent at WEBHOOK_DIGEST_HOUR; a unique row per address and day keeps it to one).
        "sweep-webhook-deliveries": {"task": "webhooks.sweep_deliveries", "schedule": 30.0, "options": {"expires": 25}},
        "webhook-failure-digest": {"task": "webhooks.failure_digest", "schedule": 300.0, "options": {"expires": 240}},
        # Extracts: scheduled ones when due (a unique row per schedule and period keeps it to
        # one), and files past EXTRACT_RETENTION_DAYS deleted.
        "extract-schedules": {"task": "extracts.run_schedules", "schedule": 300.0, "options": {"expires": 240}},
        "expire-extracts": {"task": "extracts.expire", "schedule": 3600.0},
        "sweep-pending-transactions": {"task": "payments.sweep_status", "schedule": 60.0},
        # Check with SIBS, daily: which methods each terminal really has active at the gateway.
        "check-payment-methods": {
            "task": "payments.methods.check_all",
            "schedule": crontab(hour=5, minute=15),
            "options": {"expires": 3600},
        },
        "sweep-payment-requests": {"task": "payments.requests.sweep", "schedule": 30.0, "options": {"expires": 25}},
        # Reconciliation: settlement files fetched from SFTP, and late notifications and the
        # passing of business days matched again (exceptions opened and closed).
        "reconciliation-sftp-pickup": {"task": "reconciliation.sftp_pickup_all", "schedule": 3600.0},
        "reconciliation-rematch": {
            "task": "reconciliation.rematch_all",
            "schedule": 600.0,
            "options": {"expires": 540},
        },
        # Dashboard rollups: recompute the hours marked since the last sweep.
        "sweep-dashboard-rollups": {"task": "payments.rollups_sweep", "schedule": 5.0, "options": {"expires": 10}},
        # The sandbox gateway: simulated customers act and due notifications (re)deliver, and
        # a gentle stream of demo traffic. Both do nothing unless SANDBOX_ENABLED.
        "sandbox-tick": {"task": "sandbox.tick", "schedule": 5.0, "options": {"expires": 30}},
        "sandbox-traffic": {"task": "sandbox.generate_traffic", "schedule": 10.0, "options": {"expires": 30}},
        # QR Code Express: the daily stock sync with SIBS and the expiry reminders.
        "qrexpress-stock-sync": {"task": "qrexpress.stock_sync", "schedule": 86400.0, "options": {"expires": 3600}},
        "qrexpress-expiry-reminders": {"task": "qrexpress.expiry_reminders", "schedule": 21600.0},
        # After SIBS's 00:10 UTC cut-off: the sandbox writes each client's settlement file.
        "sandbox-settlement-files": {"task": "sandbox.settlement_files", "schedule": crontab(minute=15, hour=0)},
    },
)
app.autodiscover_tasks()
app.autodiscover_tasks(["payments.methods"])
