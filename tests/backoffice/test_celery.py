"""A real Celery worker runs tasks through each broker the project supports."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from backoffice.celery import app
from backoffice.tasks import purge_expired_sessions

RELIABILITY_KEYS = (
    "task_acks_late",
    "task_reject_on_worker_lost",
    "worker_prefetch_multiplier",
    "task_ignore_result",
    "task_serializer",
    "accept_content",
)


def make_sessions():
    live = SessionStore()
    live.create()
    dead = SessionStore()
    dead.create()
    Session.objects.filter(session_key=dead.session_key).update(expire_date=timezone.now() - timedelta(days=1))
    return live.session_key, dead.session_key


def worker_app(broker_url: str) -> tuple[Celery, object]:
    """A Celery app configured like the project's, on the given broker, with the same task.

    A separate app keeps the test from mutating the process-wide one (its connection pools
    and transport options are shared with every other test).
    """
    test_app = Celery("backoffice-test", set_as_current=False)
    test_app.conf.update({key: app.conf[key] for key in RELIABILITY_KEYS})
    test_app.conf.broker_url = broker_url
    test_app.conf.broker_transport_options = {"visibility_timeout": 3600} if broker_url.startswith("redis") else {}
    task = test_app.task(name=purge_expired_sessions.name)(purge_expired_sessions.run)
    return test_app, task


def run_through_worker(broker_url: str):
    live, dead = make_sessions()
    test_app, task = worker_app(broker_url)
    with start_worker(test_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        result = task.apply_async(ignore_result=True)
        deadline = time.monotonic() + 20
        while Session.objects.filter(session_key=dead).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    test_app.close()
    # start_worker makes its app the current and default one, which shared tasks resolve to:
    # hand both back to the project's app so later tests do not publish to this closed one.
    app.set_current()
    app.set_default()
    assert result.id
    assert not Session.objects.filter(session_key=dead).exists()
    assert Session.objects.filter(session_key=live).exists()


def test_celery_is_configured_not_to_lose_tasks():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_worker_runs_a_task_through_the_embedded_broker(transactional_db, tmp_path):
    run_through_worker(f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}")


@pytest.mark.redis
def test_worker_runs_a_task_through_redis(transactional_db):
    run_through_worker(os.environ["REDIS_URL"])
