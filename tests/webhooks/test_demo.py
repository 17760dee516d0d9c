"""seed_demo gives the demo merchant an inbound URL, a secret and a sandbox credential."""

from __future__ import annotations

import json
from io import StringIO

from django.core.management import call_command

from payments.models import GatewayCredential, Transaction
from tests.webhooks.support import notification, post_encrypted, processing
from webhooks.models import InboundEndpoint, WebhookSecret


def seed_json() -> dict:
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_seed_demo_prints_a_working_inbound_url_and_secret(db, client, django_capture_on_commit_callbacks):
    data = seed_json()
    assert data["inbound_url"].startswith("http://testserver/hooks/sibs/")
    payload = notification(merchant={"terminalId": 99978, "transactionId": "demo-1"})
    path = data["inbound_url"].removeprefix("http://testserver")
    with processing(django_capture_on_commit_callbacks):
        response = post_encrypted(client, path, data["webhook_secret"], payload)
    assert response.status_code == 200
    txn = Transaction.objects.get()
    assert txn.merchant.slug == "loja-demo" and txn.terminal.terminal_id == 99978 and txn.state == "paid"


def test_seed_demo_gives_the_sandbox_gateway(db):
    gateway = seed_json()["gateway"]
    assert gateway["api_root"] == "http://testserver/sandbox/api/v2"
    assert gateway["client_id"] and gateway["bearer_token"]
    assert gateway["terminal_ids"] == [45546, 66645, 88845, 99978]


def test_seed_demo_stays_idempotent(db):
    first = seed_json()
    second = seed_json()
    assert (first["inbound_url"], first["webhook_secret"]) == (second["inbound_url"], second["webhook_secret"])
    assert first["gateway"] == second["gateway"]
    assert InboundEndpoint.objects.count() == 1
    assert WebhookSecret.objects.filter(revoked_at__isnull=True).count() == 1
    assert GatewayCredential.objects.count() == 1


def test_seed_demo_plain_output_mentions_the_inbound_url(db):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert any(
        line.split()[:1] == ["inbound_url"] and "http://testserver/hooks/sibs/" in line
        for line in out.getvalue().splitlines()
    )
