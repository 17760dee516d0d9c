"""A real Celery worker runs tasks through each broker the project supports."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from backoffice.celery import app
from backoffice.tasks import purge_expired_sessions


def make_sessions():
    live = SessionStore()
    live.create()
    dead = SessionStore()
    dead.create()
    Session.objects.filter(session_key=dead.session_key).update(expire_date=timezone.now() - timedelta(days=1))
    return live.session_key, dead.session_key


def run_through_worker(broker_url: str):
    live, dead = make_sessions()
    previous = app.conf.broker_url
    app.conf.broker_url = broker_url
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            result = purge_expired_sessions.apply_async(ignore_result=True)
            deadline = timezone.now() + timedelta(seconds=20)
            while Session.objects.filter(session_key=dead).exists() and timezone.now() < deadline:
                import time

                time.sleep(0.1)
    finally:
        app.conf.broker_url = previous
        app.pool.force_close_all()
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
