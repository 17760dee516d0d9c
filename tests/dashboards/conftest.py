import pytest


@pytest.fixture(autouse=True)
def _eager(eager_celery_and_fresh_keyring):
    """Tasks run inline with a fresh secret keyring (see tests/conftest.py)."""
