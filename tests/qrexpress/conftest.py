import pytest


@pytest.fixture(autouse=True)
def _eager(eager_celery_and_fresh_keyring):
    """Tasks (the low-stock e-mail) run inline, never through a broker."""
    yield
