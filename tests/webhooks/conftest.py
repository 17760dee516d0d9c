import pytest


@pytest.fixture(autouse=True)
def _eager(eager_celery_and_fresh_keyring):
    """Every test here runs tasks inline with a fresh secret keyring (see tests/conftest.py)."""


@pytest.fixture
def loopback_endpoint():
    """A merchant endpoint on 127.0.0.1 that decrypts and acknowledges (see tests/webhooks/endpoint.py)."""
    from payments.sibs.envelope import generate_secret
    from tests.webhooks.endpoint import LoopbackEndpoint

    with LoopbackEndpoint(generate_secret()) as server:
        yield server
