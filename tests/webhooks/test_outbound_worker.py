"""A real Celery worker killed in the middle of a delivery: nothing is lost, nothing is marked
delivered without an acknowledgement, and the sweep completes it once the lease ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from kombu import Connection

from backoffice.celery import app as celery_app
from tests.webhooks.outbound_support import make_webhook
from webhooks.models import DeliveryAttempt, DeliveryState, WebhookDelivery
from webhooks.tasks import deliver_webhooks, sweep_deliveries

ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.postgres
@pytest.mark.redis
def test_a_worker_killed_mid_delivery_loses_nothing(transactional_db, world, loopback_endpoint, tmp_path):
    from tests.webhooks.test_outbound_engine import _pending

    celery_app.conf.task_always_eager = False  # publish for real (the fixture restores it)
    loopback_endpoint.mode = "slow"
    loopback_endpoint.slow_seconds = 20
    webhook = make_webhook(world.loja, endpoint=loopback_endpoint)
    delivery = _pending(webhook)
    db = connection.settings_dict
    redis_url = os.environ["REDIS_URL"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": redis_url,
        "VAR_DIR": str(tmp_path),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "SECRETS_ENCRYPTION_KEY": ",".join(settings.SECRETS_ENCRYPTION_KEYS),
        "WEBHOOK_ALLOW_PRIVATE_URLS": "1",
        "WEBHOOK_ALLOW_HTTP": "1",
        # A short lease (2 x (1 + 3) + 5 = 13 s) keeps the test short.
        "WEBHOOK_CONNECT_TIMEOUT": "1",
        "WEBHOOK_READ_TIMEOUT": "3",
    }
    queue = f"outbound-test-{os.getpid()}"
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "backoffice", "worker", "--pool", "prefork", "--concurrency", "1",
         "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", queue],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    try:
        with Connection(redis_url) as conn, celery_app.amqp.Producer(conn) as producer:
            deliver_webhooks.apply_async(([delivery.pk],), producer=producer, queue=queue)
        # given: the endpoint received the notification and is taking its time to answer
        _until(lambda: loopback_endpoint.requests >= 1 and _children(worker.pid), 60, "the send to start")
        # when: the worker's child dies mid-send
        os.kill(_children(worker.pid)[0], signal.SIGKILL)
        loopback_endpoint.mode = "ack"

        # then: not delivered, no attempt recorded, still pending under the dead worker's lease
        time.sleep(2)  # the redelivered task runs in a fresh child and finds it leased
        delivery.refresh_from_db()
        assert delivery.state == DeliveryState.PENDING and delivery.lease_token
        assert delivery.attempts == 0 and not DeliveryAttempt.objects.exists()

        # and when the lease has ended, the sweep sends it and it is acknowledged
        _until(
            lambda: delivery.leased_until is not None and time.time() > delivery.leased_until.timestamp(), 30, "lease"
        )
        time.sleep(0.5)
        with Connection(redis_url) as conn, celery_app.amqp.Producer(conn) as producer:
            sweep_deliveries.apply_async((), producer=producer, queue=queue)

        def delivered() -> bool:
            delivery.refresh_from_db()
            return delivery.state == DeliveryState.DELIVERED

        _until(delivered, 30, "the sweep to deliver: " + (tmp_path / "worker.log").read_text()[-2000:])
        assert delivery.attempts == 1 and DeliveryAttempt.objects.get().acknowledged
        # at least once: the merchant saw it twice, the second time acknowledged
        assert loopback_endpoint.received_ids() == [delivery.notification_id] * 2
        assert WebhookDelivery.objects.count() == 1
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        log.close()
