"""simulate_traffic and beat's gentle stream: the mix of stories, told through the gateway."""

from __future__ import annotations

import json
import random
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from sandbox import traffic
from sandbox.models import SandboxNotification, SandboxOperation, SandboxPayment
from sandbox.tasks import generate_traffic, traffic_count


def simulate(*args: str) -> str:
    out, err = StringIO(), StringIO()
    call_command("simulate_traffic", *args, stdout=out, stderr=err)
    assert "!" not in err.getvalue(), err.getvalue()
    return out.getvalue()


def test_a_full_deck_is_exactly_the_mix(loja):
    # given a full deck of stories, played flat out, references settling at once
    output = simulate("--count", str(traffic.DECK_SIZE), "--rate", "0", "--seed", "7", "--settle-delay", "0", "0")

    # then every story ran as often as the mix says
    for name, weight in traffic.MIX.items():
        assert f"{name:<20} {weight}\n" in output, output
    payments = SandboxPayment.objects.all()
    by_method = Counter(payments.values_list("payment_method", flat=True))
    assert by_method["STATIC_QRCODE"] == traffic.MIX["qrcode"]
    assert by_method["TOKEN"] == traffic.MIX["token"]
    assert by_method["MBWAY"] == traffic.MIX["mbway_ok"] + traffic.MIX["mbway_declined"] + traffic.MIX["mbway_timeout"]
    references = traffic.MIX["reference_paid"] + traffic.MIX["reference_expired"] + traffic.MIX["reference_cancelled"]
    assert by_method["REFERENCE"] == references
    assert payments.filter(payment_type="MITR").count() == traffic.MIX["cit_mit"]
    assert payments.filter(payment_type="AUTH").count() == (
        traffic.MIX["token"]
        + traffic.MIX["auth_capture"]
        + traffic.MIX["auth_cancel"]
        + payments.filter(payment_type="AUTH", mit__type="UCOF").count()
    )
    statuses = Counter((p.payment_method, p.status) for p in payments)
    assert statuses[("MBWAY", "Declined")] == traffic.MIX["mbway_declined"]
    assert statuses[("MBWAY", "Timeout")] == traffic.MIX["mbway_timeout"]
    assert statuses[("REFERENCE", "Success")] == traffic.MIX["reference_paid"]
    assert statuses[("REFERENCE", "Expired")] == traffic.MIX["reference_expired"]
    assert statuses[("CARD", "Declined")] == traffic.MIX["card_declined"]
    operations = Counter(SandboxOperation.objects.filter(status="Success").values_list("kind", flat=True))
    assert operations["refund"] == traffic.MIX["purchase_refund"]
    assert operations["cancellation"] == traffic.MIX["auth_cancel"] + traffic.MIX["reference_cancelled"]
    assert operations["capture"] >= traffic.MIX["auth_capture"]
    assert not SandboxOperation.objects.exclude(status="Success").exists()
    events = Counter(SandboxNotification.objects.values_list("event", flat=True))
    assert events["qrcode"] == traffic.MIX["qrcode"] and events["mit"] == traffic.MIX["cit_mit"]
    assert events["reference.generated"] == references


def test_amounts_and_names_look_real(loja):
    simulate("--count", "30", "--rate", "0", "--seed", "3", "--settle-delay", "0", "0")

    amounts = [p.amount for p in SandboxPayment.objects.exclude(payment_type="AUTH", amount=0)]
    assert min(amounts) >= 1 and max(amounts) <= 250
    assert all(amount == amount.quantize(amount.__class__("0.01")) for amount in amounts)
    qr = SandboxPayment.objects.filter(payment_method="STATIC_QRCODE").first()
    if qr is not None:
        billing = qr.financial_operation["billingInfo"]
        assert billing["billingAddressCity"] in {place[0] for place in traffic.PLACES}


def test_simulated_references_settle_later_on_the_tick(loja):
    simulate("--count", "20", "--rate", "0", "--seed", "11", "--settle-delay", "60", "60", "--no-tick")

    waiting = SandboxPayment.objects.filter(payment_method="REFERENCE", reference_status="UNPAID")
    assert waiting.exists() or not SandboxPayment.objects.filter(payment_method="REFERENCE").exists()
    assert all(p.resolve_at is not None for p in waiting)


def test_merchant_url_option_points_notifications_somewhere(loja):
    simulate("--count", "1", "--rate", "0", "--merchant-url", "http://127.0.0.1:9/hooks", "--no-tick")

    loja.refresh_from_db()
    assert loja.notification_url == "http://127.0.0.1:9/hooks"


def test_without_a_sandbox_client_the_command_explains(db):
    with pytest.raises(CommandError, match="sandbox_configure"):
        call_command("simulate_traffic", "--count", "1", stdout=StringIO())


def test_duration_bounds_a_run(loja):
    output = simulate("--duration", "0.3", "--rate", "20", "--seed", "1", "--settle-delay", "0", "0")

    assert "transactions simulated" in output
    assert 1 <= SandboxPayment.objects.filter(kind="checkout").count() <= 60


@pytest.mark.django_db(transaction=True)
def test_via_http_drives_the_real_endpoints(live_server):
    from sandbox.services import sandbox_configure

    sandbox_configure(
        client_id="http-client",
        bearer_token="http-token",
        terminal_ids=[52221],
        notification_url="",
        notification_secret="",
        merchant_name="Loja HTTP",
        customer_delay_seconds=0,
    )

    output = simulate(
        "--via-http", live_server.url, "--count", "8", "--rate", "0", "--seed", "5", "--settle-delay", "0", "0"
    )

    assert "8 transactions simulated" in output
    assert SandboxPayment.objects.count() >= 8


def test_a_failing_story_is_counted_not_raised(loja):
    class Broken(traffic.ServiceDriver):
        def checkout(self, body):
            raise traffic.TrafficError("gateway unreachable")

    story = traffic.Story(driver=Broken(loja), terminals=[99978], rng=random.Random(1))
    tally = traffic.Tally()

    traffic.play(story, "mbway_ok", tally)

    assert tally.failed["mbway_ok"] == 1 and "unreachable" in tally.errors[0]


# --- beat's gentle stream -------------------------------------------------------------------------------


def test_beat_generates_traffic_for_the_configured_merchant(wired, settings):
    settings.SANDBOX_TRAFFIC_PER_MINUTE = 12  # 2 per 10-second run

    made = generate_traffic()

    assert made == 2
    assert SandboxPayment.objects.filter(merchant=wired).exists()


@pytest.mark.parametrize(("enabled", "per_minute"), [(False, 6), (True, 0)])
def test_beat_traffic_is_off_when_disabled_or_zero(wired, settings, enabled, per_minute):
    settings.SANDBOX_ENABLED = enabled
    settings.SANDBOX_TRAFFIC_PER_MINUTE = per_minute

    assert generate_traffic() == 0
    assert not SandboxPayment.objects.exists()


def test_beat_traffic_needs_a_merchant_with_a_notification_url(loja, settings):
    settings.SANDBOX_TRAFFIC_PER_MINUTE = 60

    assert generate_traffic() == 0


def test_traffic_count_averages_to_the_rate():
    rng = random.Random(1)

    runs = [traffic_count(4, rng) for _ in range(6000)]  # 1000 minutes of six runs each

    assert set(runs) == {0, 1}
    assert 3.8 < sum(runs) / 1000 < 4.2
    assert [traffic_count(12, rng) for _ in range(3)] == [2, 2, 2]


SETTINGS_PROBE = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.SANDBOX_ENABLED, settings.SANDBOX_TRAFFIC_PER_MINUTE)"
)


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"BACKOFFICE_ENV": "development"}, ["True", "6"]),
        ({"BACKOFFICE_ENV": "production"}, ["False", "0"]),
        ({"BACKOFFICE_ENV": "production", "SANDBOX_ENABLED": "1", "SANDBOX_TRAFFIC_PER_MINUTE": "2"}, ["True", "2"]),
    ],
)
def test_sandbox_is_on_in_development_and_off_in_production_unless_set(tmp_path, environment, expected):
    import os
    import subprocess
    import sys

    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SANDBOX_", "BACKOFFICE_ENV"))}
    env.update(
        DJANGO_SETTINGS_MODULE="backoffice.settings",
        SECRET_KEY="x" * 64,
        SECRETS_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="backoffice.example",
        VAR_DIR=str(tmp_path),
        **environment,
    )
    result = subprocess.run([sys.executable, "-c", SETTINGS_PROBE], capture_output=True, text=True, env=env, timeout=60)

    assert result.stdout.split() == expected, result.stderr


def test_payload_of_every_story_parses(loja):
    from payments.sibs import parse_notification

    loja.notification_style = "mixed"
    loja.save()
    simulate("--count", str(traffic.DECK_SIZE), "--rate", "0", "--seed", "2", "--settle-delay", "0", "0")

    for row in SandboxNotification.objects.all():
        notification = parse_notification(row.payload)
        assert notification.notification_id == json.loads(row.payload)["notificationID"]
