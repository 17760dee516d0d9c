"""Processing stored notifications: broker outages, failures, re-runs, concurrency, killed workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from kombu import Connection
from kombu.exceptions import OperationalError

from backoffice.celery import app as celery_app
from payments.models import Transaction, TransactionEvent
from tests.webhooks.support import add_secret, inbound_path, notification, post_encrypted, processing, store
from webhooks.inbound import dispatch, services
from webhooks.models import InboundNotification, InboundState
from webhooks.tasks import process_inbound, process_inbound_batch

ROOT = Path(__file__).resolve().parents[2]


def test_a_broker_outage_loses_nothing(world, client, django_capture_on_commit_callbacks):
    # given: the broker refuses every message
    secret = add_secret(world.loja)
    payload = notification()
    with (
        mock.patch.object(process_inbound_batch, "apply_async", side_effect=OperationalError("connection refused")),
        processing(django_capture_on_commit_callbacks),
    ):
        response = post_encrypted(client, inbound_path(world.loja), secret, payload)
    # then: acknowledged and stored, but not processed
    assert response.status_code == 200
    assert json.loads(response.content)["notificationID"] == payload["notificationID"]
    inbound = InboundNotification.objects.get()
    assert inbound.state == InboundState.RECEIVED
    assert not Transaction.objects.exists()
    # when: the sweep runs (the broker is back), after the grace period
    counts = services.inbound_sweep(now=timezone.now() + services.SWEEP_GRACE)
    # then
    assert counts["processed"] == 1
    inbound.refresh_from_db()
    assert inbound.state == InboundState.PROCESSED
    assert Transaction.objects.get().transaction_id == payload["transactionID"]


def test_an_unreachable_broker_still_gives_200(world, client, django_capture_on_commit_callbacks, tmp_path):
    # given: a real publish, to a broker that cannot be reached
    secret = add_secret(world.loja)
    celery_app.conf.task_always_eager = False
    missing = f"sqla+sqlite:///{tmp_path / 'no-such-directory' / 'broker.sqlite3'}"

    def publish(ids):
        with Connection(missing) as conn, celery_app.amqp.Producer(conn) as producer:
            process_inbound_batch.apply_async((ids,), producer=producer, retry=False)

    sent = dispatch.Dispatcher()
    with (
        mock.patch.object(dispatch, "dispatcher", return_value=sent),
        mock.patch.object(dispatch, "publish", publish),
    ):
        with processing(django_capture_on_commit_callbacks):
            response = post_encrypted(client, inbound_path(world.loja), secret, notification())
        assert sent.flush(10)  # while the patch holds
    # then
    assert response.status_code == 200
    assert sent.dropped == 1 and sent.published == 0
    assert InboundNotification.objects.get().state == InboundState.RECEIVED


def test_the_acknowledgement_does_not_wait_for_the_broker(world, client, django_capture_on_commit_callbacks):
    # given: a broker that takes its time
    secret = add_secret(world.loja)
    celery_app.conf.task_always_eager = False
    release = threading.Event()
    published: list[list[int]] = []

    def slow_publish(ids):
        release.wait(10)
        published.append(ids)

    sent = dispatch.Dispatcher()
    with (
        mock.patch.object(dispatch, "dispatcher", return_value=sent),
        mock.patch.object(dispatch, "publish", slow_publish),
    ):
        with processing(django_capture_on_commit_callbacks):
            started = time.monotonic()
            response = post_encrypted(client, inbound_path(world.loja), secret, notification())
            elapsed = time.monotonic() - started
        # then: acknowledged while the publish is still waiting
        assert response.status_code == 200 and elapsed < 2 and published == []
        release.set()
        assert _eventually(lambda: published == [[InboundNotification.objects.get().pk]])


def test_the_dispatcher_batches_and_pauses_after_a_failure(world):
    batches: list[list[int]] = []
    hold = threading.Event()

    def record(ids):
        hold.wait(5)
        batches.append(ids)

    with mock.patch.object(dispatch, "publish", record):
        sent = dispatch.Dispatcher()
        for pk in range(250):
            sent.submit(pk)
        hold.set()
        assert _eventually(lambda: sent.published == 250)
    assert sorted(pk for batch in batches for pk in batch) == list(range(250))
    assert max(len(batch) for batch in batches) <= dispatch.MAX_BATCH
    assert len(batches) < 250  # batched, not one message each
    # a failed publish drops the batch (the sweep has it) and pauses
    with mock.patch.object(dispatch, "publish", side_effect=OperationalError("down")) as publish:
        assert sent.send([1]) is False
        assert sent.send([2]) is False
        assert publish.call_count == 1
    with (
        mock.patch.object(dispatch.time, "monotonic", return_value=time.monotonic() + 31),
        mock.patch.object(dispatch, "publish") as publish,
    ):
        assert sent.send([3]) is True
        publish.assert_called_once_with([3])


def test_a_batch_task_processes_each_and_survives_one_failure(world):
    good = store(world.loja, notification())
    bad = store(world.loja, notification())
    original = services.notification_process

    def flaky(*, inbound_id):
        if inbound_id == bad.pk:
            raise RuntimeError("boom")
        return original(inbound_id=inbound_id)

    with mock.patch.object(services, "notification_process", flaky):
        counts = process_inbound_batch.apply(args=([bad.pk, good.pk, 10**9],)).get()
    assert counts == {"error": 1, "processed": 1, "missing": 1}
    good.refresh_from_db()
    assert good.state == InboundState.PROCESSED


def _eventually(check, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False


def test_the_sweep_leaves_fresh_notifications_to_their_task(world):
    store(world.loja, notification())
    assert services.inbound_sweep()["processed"] == 0


def test_the_sweep_processes_oldest_first_in_order(world):
    first = notification(paymentStatus="Pending")
    second = {**first, "notificationID": "later-one", "paymentStatus": "Success"}
    old = timezone.now() - timedelta(minutes=5)
    store(world.loja, second, received_at=old + timedelta(seconds=1))
    store(world.loja, first, received_at=old)
    assert services.inbound_sweep()["processed"] == 2
    row = Transaction.objects.get()
    assert row.payment_status == "Success"
    assert list(row.events.values_list("payment_status", flat=True)) == ["Pending", "Success"]


def test_a_failure_rolls_back_and_is_retried(world):
    # given: applying fails half-way (after the transaction row was written)
    inbound = store(world.loja, notification())
    with (
        mock.patch("payments.services.ledger._event", side_effect=RuntimeError("boom")),
        pytest.raises(RuntimeError),
    ):
        services.notification_process(inbound_id=inbound.pk)
    # then: nothing half-done stays, and the attempt is counted
    inbound.refresh_from_db()
    assert inbound.state == InboundState.RECEIVED and inbound.attempts == 1 and "boom" in inbound.last_error
    assert not Transaction.objects.exists()
    # when: run again
    assert services.notification_process(inbound_id=inbound.pk) == "processed"
    assert Transaction.objects.count() == 1 and TransactionEvent.objects.count() == 1


def test_a_notification_failing_every_time_ends_failed(world, settings):
    settings.INBOUND_MAX_ATTEMPTS = 3
    inbound = store(world.loja, notification())
    with mock.patch("payments.services.ledger._event", side_effect=RuntimeError("boom")):
        for _ in range(3):
            with pytest.raises(RuntimeError):
                services.notification_process(inbound_id=inbound.pk)
    inbound.refresh_from_db()
    assert inbound.state == InboundState.FAILED and inbound.attempts == 3
    assert services.inbound_sweep(now=timezone.now() + timedelta(hours=1))["processed"] == 0
    # platform staff put it back in line
    assert services.inbound_reprocess(inbound_ids=[inbound.pk]) == 1
    assert services.notification_process(inbound_id=inbound.pk) == "processed"


def test_the_task_is_a_thin_adapter_safe_to_run_twice(world):
    inbound = store(world.loja, notification())
    assert process_inbound.apply(args=(inbound.pk,)).get() == "processed"
    assert process_inbound.apply(args=(inbound.pk,)).get() == "already_processed"
    assert TransactionEvent.objects.count() == 1


@pytest.mark.postgres
def test_two_workers_processing_the_same_notification_at_once(transactional_db, world):
    """Row locks make the second wait and then find the work done."""
    inbound = store(world.loja, notification())
    barrier = threading.Barrier(2)
    results: list[str] = []

    def work():
        try:
            barrier.wait()
            results.append(services.notification_process(inbound_id=inbound.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == ["already_processed", "processed"]
    assert Transaction.objects.count() == 1 and TransactionEvent.objects.count() == 1


@pytest.mark.postgres
def test_two_notifications_of_one_new_transaction_at_once(transactional_db, world):
    """Both create the row: the unique constraint decides, the loser applies to the winner's row."""
    pending = notification(paymentStatus="Pending")
    success = {**pending, "notificationID": "second-at-once", "paymentStatus": "Success"}
    inbounds = [store(world.loja, pending), store(world.loja, success)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(pk):
        try:
            barrier.wait()
            services.notification_process(inbound_id=pk)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i.pk,)) for i in inbounds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors
    row = Transaction.objects.get()
    assert row.payment_status == "Success" and row.events.count() == 2


@pytest.mark.postgres
def test_a_worker_killed_mid_task_loses_nothing(transactional_db, world, tmp_path):
    """A real worker; its pool child is SIGKILLed while the task waits on a row lock; the
    task is redelivered (task_reject_on_worker_lost) and completes in a fresh child."""
    celery_app.conf.task_always_eager = False  # publish for real (the fixture restores it)
    inbound = store(world.loja, notification())
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "VAR_DIR": str(tmp_path),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        # the same keys as this process, or the worker cannot read what we stored
        "SECRET_KEY": settings.SECRET_KEY,
        "SECRETS_ENCRYPTION_KEY": ",".join(settings.SECRETS_ENCRYPTION_KEYS),
    }
    env.pop("REDIS_URL", None)  # the embedded broker, in tmp_path
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "backoffice", "worker", "--pool", "prefork", "--concurrency", "1",
         "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    try:
        # given: the row is locked, so the task blocks inside notification_process
        with transaction.atomic():
            InboundNotification.objects.select_for_update().get(pk=inbound.pk)
            broker = f"sqla+sqlite:///{tmp_path / 'celery-broker.sqlite3'}"
            # A plain kombu connection: the app's transport options may be Redis-only.
            with Connection(broker) as conn, celery_app.amqp.Producer(conn) as producer:
                process_inbound.apply_async((inbound.pk,), producer=producer)
            child = _wait_for_blocked_child(worker.pid, db["NAME"], timeout=30)
            # when: the child dies mid-task
            os.kill(child, signal.SIGKILL)
        # then: the lock is released, the master starts a new child, the task runs again
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            inbound.refresh_from_db()
            if inbound.state == InboundState.PROCESSED:
                break
            time.sleep(0.2)
        assert inbound.state == InboundState.PROCESSED, (inbound.last_error, (tmp_path / "worker.log").read_text())
        assert inbound.attempts == 1  # the killed run never got to count itself
        assert TransactionEvent.objects.count() == 1
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        log.close()


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return found


def _wait_for_blocked_child(master: int, dbname: str, *, timeout: float) -> int:
    """The pool child whose database session waits on our lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            # Statistics views are a snapshot per transaction, and we are inside one.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'", [dbname]
            )
            (waiting,) = cursor.fetchone()
        children = _children(master)
        if waiting and children:
            return children[0]
        time.sleep(0.2)
    raise AssertionError("the worker never started the task")
