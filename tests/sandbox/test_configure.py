"""Configuring the sandbox: the service another app calls, and its management command."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from payments.sibs import generate_secret
from sandbox.models import SandboxMerchant
from sandbox.services import sandbox_configure

SECRET = generate_secret()


def configure(**overrides):
    values = {
        "client_id": "demo-client",
        "bearer_token": "demo-token",
        "terminal_ids": [99978, 88845],
        "notification_url": "http://127.0.0.1:8000/hooks/sibs/loja-demo",
        "notification_secret": SECRET,
        "merchant_name": "Loja Demo",
    }
    values.update(overrides)
    return sandbox_configure(**values)


def test_configure_is_idempotent_and_keyed_on_client_id(db):
    first = configure()
    second = configure(merchant_name="Loja Demo, Lda", terminal_ids=["66645", 66645])

    assert first.pk == second.pk
    assert SandboxMerchant.objects.count() == 1
    second.refresh_from_db()
    assert second.merchant_name == "Loja Demo, Lda"
    assert second.terminal_ids == [66645]
    assert second.notification_secret == SECRET


def test_optional_settings_change_only_when_given(db):
    configure(notification_style="doc-pt", retry_unit_seconds=60, customer_delay_seconds=0)
    merchant = configure()

    assert merchant.notification_style == "doc-pt"
    assert merchant.retry_unit_seconds == 60
    assert merchant.customer_delay_seconds == 0


def test_secrets_are_encrypted_at_rest(db):
    merchant = configure()

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT bearer_token, notification_secret FROM sandbox_sandboxmerchant WHERE id = %s", [merchant.pk]
        )
        token, secret = cursor.fetchone()

    assert "demo-token" not in token
    assert SECRET not in secret


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"client_id": ""}, "client_id"),
        ({"bearer_token": " "}, "bearer_token"),
        ({"merchant_name": ""}, "merchant_name"),
        ({"terminal_ids": []}, "terminal"),
        ({"terminal_ids": ["abc"]}, "not a whole number"),
        ({"terminal_ids": [12345678901]}, "1 to 10 digits"),
        ({"terminal_ids": [True]}, "whole numbers"),
        ({"notification_url": "ftp://example.com"}, "http"),
        ({"notification_secret": "c2hvcnQ="}, "32 bytes"),
        ({"notification_style": "fancy"}, "notification_style"),
        ({"ack_expectation": "201"}, "ack_expectation"),
        ({"retry_unit_seconds": 0}, "retry_unit_seconds"),
        ({"reference_entity": "1234"}, "5 digits"),
    ],
)
def test_configure_refuses_bad_values(db, overrides, fragment):
    with pytest.raises(ValueError, match=fragment):
        configure(**overrides)
    assert not SandboxMerchant.objects.exists()


def test_no_url_means_no_notifications(db):
    merchant = configure(notification_url="", notification_secret="")

    assert merchant.notification_url == "" and merchant.notification_secret == ""


def test_command_generates_missing_credentials_once(db):
    out = StringIO()

    call_command(
        "sandbox_configure",
        "--terminal",
        "99978",
        "--notification-url",
        "http://127.0.0.1:8000/hooks/x",
        "--json",
        stdout=out,
    )

    facts = json.loads(out.getvalue())
    merchant = SandboxMerchant.objects.get(client_id=facts["client_id"])
    assert merchant.bearer_token == facts["bearer_token"]
    assert merchant.notification_secret == facts["notification_secret"]
    assert merchant.terminal_ids == [99978]


def test_command_updates_an_existing_client(db):
    configure()
    out = StringIO()

    call_command(
        "sandbox_configure",
        "--client-id",
        "demo-client",
        "--bearer-token",
        "new-token",
        "--terminal",
        "99978",
        "--style",
        "plain",
        "--customer-delay-seconds",
        "5",
        stdout=out,
    )

    merchant = SandboxMerchant.objects.get()
    assert merchant.bearer_token == "new-token" and merchant.notification_style == "plain"
    assert merchant.customer_delay_seconds == 5
    assert merchant.notification_url == ""  # no --notification-url: notifications switched off
    assert "configured" in out.getvalue()


def test_command_reports_bad_values(db):
    with pytest.raises(CommandError, match="32 bytes"):
        call_command("sandbox_configure", "--terminal", "1", "--notification-secret", "c2hvcnQ=", stdout=StringIO())
