"""The API keeps to its OpenAPI schema: schemathesis over every operation, in-process, with a
small example budget (``make fuzz-api`` runs the full one against a live server)."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig

from backoffice import services
from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.roles import Role
from tests.payments.test_listing import make_txn

# The operations whose schema has been brought in line with their answers; payment requests, QR
# Code Express, payment methods and reconciliation joined the API later and are next.
VERIFIED = ("/api/v1/me", "/api/v1/stores", "/api/v1/transactions", "/api/v1/operations")
CONFIG = Path(__file__).resolve().parents[1] / "schemathesis.toml"


@pytest.fixture
def api_schema(db):
    # Called in-process like a WSGI server would, without closing the test's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi(
        "/api/v1/schema/", get_wsgi_application(), config=SchemathesisConfig.from_path(CONFIG)
    )
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def owner_key(world):
    make_txn(world)
    make_txn(world, payment_method="CARD", payment_type="AUTH", state="authorised")
    make_txn(world, terminal=world.t_outra, merchant=world.outra)
    _key, plaintext = services.api_key_create(
        access=Access.for_membership(world.m_alice), actor=Actor(user=world.alice), name="fuzz", role=Role.OWNER
    )
    return plaintext


@pytest.mark.postgres
def test_every_operation_answers_as_documented(api_schema, owner_key):
    failures = []
    operations = [
        operation
        for operation in (result.ok() for result in api_schema.get_all_operations())
        if any(operation.path == path or operation.path.startswith(path + "/") for path in VERIFIED)
    ]
    assert len(operations) >= 13
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(headers={"Authorization": f"Bearer {owner_key}"})

        try:
            check()
        except Exception as error:  # every operation is tried; all failures are reported together
            failures.append(f"{operation.label}: {error}")
    assert not failures, "\n\n".join(failures)
