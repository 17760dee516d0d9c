import pytest

from backoffice.celery import app as celery_app
from webhooks import keyring


@pytest.fixture(autouse=True)
def _eager_celery_and_fresh_keyring(_test_settings):
    """Tasks run inline (never a broker under var/), and no secret or counter leaks between tests.

    The cache is cleared again here, after ``_test_settings`` switched it to local memory (the
    root conftest's clear runs before that switch, on the previous backend).
    """
    from django.core.cache import cache

    cache.clear()
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    keyring.invalidate()
    yield
    celery_app.conf.task_always_eager = previous
    keyring.invalidate()
    cache.clear()
