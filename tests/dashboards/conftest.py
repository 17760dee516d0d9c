import pytest


@pytest.fixture(autouse=True)
def _eager(eager_celery_and_fresh_keyring):
    """Tasks run inline with a fresh secret keyring (see tests/conftest.py)."""


@pytest.fixture(autouse=True)
def _validated_figures(monkeypatch):
    """Every figure a test builds is checked against plotly's schema."""
    from payments.dashboards import figures

    monkeypatch.setattr(figures, "VALIDATE", True)
