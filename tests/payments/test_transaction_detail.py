"""The transaction detail page: what SIBS told us, in human terms, to the right people only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.urls import reverse
from django.utils import timezone

from payments.models import EventKind, EventOutcome, Transaction, TransactionEvent
from payments.services import ledger
from tests.webhooks.support import again, deliver, notification

T0 = datetime(2026, 3, 12, 10, 0, 0, tzinfo=UTC)  # 10:00 WET
NNBSP = "\u202f"
NBSP = "\u00a0"


def url(transaction_id: str, merchant: str = "loja") -> str:
    return reverse("payments:transaction", kwargs={"merchant": merchant, "transaction_id": transaction_id})


def live_url(transaction_id: str, merchant: str = "loja") -> str:
    return reverse("payments:transaction_live", kwargs={"merchant": merchant, "transaction_id": transaction_id})


def get_txn(transaction_id: str) -> Transaction:
    return Transaction.objects.get(transaction_id=transaction_id)


def deliver_at(merchant, payload, seconds: int) -> None:
    assert deliver(merchant, payload, received_at=T0 + timedelta(seconds=seconds)) == "processed"


@pytest.fixture
def paid(world):
    """An MB WAY purchase at Lisboa: Pending, then Success, then the Pending again (late), then a
    duplicate Success, then a partial refund."""
    pending = notification(paymentStatus="Pending", amount={"value": "1234.56", "currency": "EUR"})
    success = again(pending, paymentStatus="Success")
    deliver_at(world.loja, pending, 0)
    deliver_at(world.loja, success, 60)
    deliver_at(world.loja, again(pending), 120)  # out of order
    deliver_at(world.loja, again(success), 180)  # duplicate
    refund = notification(
        paymentType="RFND",
        paymentStatus="Success",
        token=None,
        amount={"value": "234.56", "currency": "EUR"},
        merchant={"transactionId": "refund-1", "terminalId": 11111},
        originalTransaction={"id": pending["transactionID"], "datetime": "2026-03-12T10:48:44Z"},
    )
    deliver_at(world.loja, refund, 240)
    txn = get_txn(pending["transactionID"])
    txn.refund_id = refund["transactionID"]
    return txn


@pytest.fixture
def porto_txn(world):
    payload = notification(merchant={"transactionId": "porto-1", "terminalId": 22222})
    deliver_at(world.loja, payload, 0)
    return get_txn(payload["transactionID"])


# --- what the page shows ----------------------------------------------------------------------


def test_owner_sees_state_amounts_balances_and_return_code(world, login, paid):
    client = login(world.alice)
    response = client.get(url(paid.transaction_id), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert paid.transaction_id in html
    assert 'data-state="partially_refunded"' in html and "Partially refunded" in html
    assert "€1,234.56" in html  # amount and captured
    assert 'data-balance="refunded"' in html and "€234.56" in html
    assert 'data-balance="refundable" data-label="Refundable">€1,000.00<' in html
    assert "000" in html and "Gateway answer" in html
    assert response["Cache-Control"] == "no-store"


def test_amounts_and_times_in_portuguese(world, login, paid):
    client = login(world.alice)
    client.cookies["django_language"] = "pt"
    html = client.get(url(paid.transaction_id), HTTP_ACCEPT_LANGUAGE="pt").content.decode()
    assert f"1{NNBSP}234,56{NBSP}€" in html
    assert f"1{NNBSP}000,00{NBSP}€" in html
    assert "12/03/2026 10:01:00 WET" in html  # the Success notification's arrival, in Lisbon


def test_timeline_in_order_with_arrival_times_duplicates_and_out_of_order(world, login, paid):
    client = login(world.bob)
    html = client.get(url(paid.transaction_id), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    timeline = html[html.index('data-testid="timeline"') :]
    times = ["10:00:00 WET", "10:01:00 WET", "10:02:00 WET", "10:03:00 WET", "10:04:00 WET"]
    positions = [timeline.index(f"12/03/2026 {t}") for t in times]
    assert positions == sorted(positions)
    assert timeline.count('data-testid="timeline-entry"') == 5  # 4 notifications, the refund's line
    assert "Out of order" in timeline
    assert "Duplicate" in timeline
    assert "Refund: Success" in timeline
    # the refund line links to the refund's own page
    assert url(paid.refund_id) in timeline


def test_status_inquiries_are_on_the_timeline_including_failed_ones(world, login, paid):
    TransactionEvent.objects.create(
        transaction=paid,
        merchant=world.loja,
        kind=EventKind.STATUS_INQUIRY,
        outcome=EventOutcome.DUPLICATE,
        occurred_at=T0 + timedelta(minutes=10),
        payment_status="Success",
        http_status=200,
    )
    ledger.inquiry_failed(
        transaction_pk=paid.pk, occurred_at=T0 + timedelta(minutes=20), detail="E0503: try later", http_status=503
    )
    html = login(world.victor).get(url(paid.transaction_id), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    first = html.index("Status inquiry: Success")
    failed = html.index("Status inquiry failed (HTTP 503)")
    assert first < failed
    assert "E0503: try later" in html


def test_registered_sources_show_on_the_page_with_who_did_them(world, login, paid):
    from payments.selectors import timeline
    from payments.selectors.timeline import TimelineEntry

    def staff_requests(access, txn):
        return [
            TimelineEntry(
                at=T0 + timedelta(seconds=200), kind="operation_request", title="Refund of €5.00 requested",
                detail="Customer asked", outcome="ok", actor="bob@loja.example", badges=("Sent",),
                raw={"payload-of-source": 1},
            )
        ]  # fmt: skip

    timeline.register(staff_requests)
    try:
        html = login(world.victor).get(url(paid.transaction_id), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        admin_html = login(world.adam).get(url(paid.transaction_id), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    finally:
        timeline.unregister(staff_requests)
    entry = html.index("Refund of €5.00 requested")
    assert html.index("12/03/2026 10:03:00 WET") < entry < html.index("12/03/2026 10:04:00 WET")
    assert "bob@loja.example" in html and "Customer asked" in html and ">Sent<" in html
    assert "payload-of-source" not in html
    assert "payload-of-source" in admin_html


def test_linked_transactions_both_ways(world, login, paid):
    client = login(world.alice)
    html = client.get(url(paid.transaction_id)).content.decode()
    linked = html[html.index('data-testid="linked"') :]
    assert 'data-linked="operation"' in linked and paid.refund_id in linked
    refund_html = client.get(url(paid.refund_id)).content.decode()
    linked = refund_html[refund_html.index('data-testid="linked"') :]
    assert 'data-linked="original"' in linked
    assert url(paid.transaction_id) in linked
    assert "This transaction" in linked
    # an operation shows no payment balances
    assert 'data-testid="balances"' not in refund_html


def test_payment_without_operations_says_so(world, login, porto_txn):
    html = login(world.alice).get(url(porto_txn.transaction_id)).content.decode()
    assert "No refunds, captures or cancellations." in html


def test_operations_slot_is_included(world, login, paid):
    html = login(world.bob).get(url(paid.transaction_id)).content.decode()
    assert 'aria-labelledby="operations-title"' in html


# --- return codes -----------------------------------------------------------------------------


def test_return_code_explained_in_the_active_language(world, login):
    declined = notification(
        paymentStatus="Declined", returnStatus={"statusCode": "E0506", "statusMsg": "Declined by SIBS"}
    )
    deliver_at(world.loja, declined, 0)
    from payments.sibs.errors import describe

    client = login(world.alice)
    en = client.get(url(declined["transactionID"]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "E0506" in en and "Declined by SIBS" in en
    assert describe("E0506", language="en").merchant_message in en.replace("&#x27;", "'")
    client.cookies["django_language"] = "pt"
    pt = client.get(url(declined["transactionID"]), HTTP_ACCEPT_LANGUAGE="pt").content.decode()
    assert describe("E0506", language="pt").merchant_message in pt.replace("&#x27;", "'")
    assert describe("E0506", language="pt").merchant_message != describe("E0506", language="en").merchant_message


def test_uncatalogued_code_gets_its_family_explanation(world, login):
    odd = notification(paymentStatus="Declined", returnStatus={"statusCode": "10.106.9999", "statusMsg": "?"})
    deliver_at(world.loja, odd, 0)
    html = login(world.alice).get(url(odd["transactionID"]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "10.106.9999" in html
    assert "not in the SIBS catalogue" in html


# --- method blocks and masking ----------------------------------------------------------------


def test_mbway_alias_and_token_masked_never_clear(world, login):
    payload = notification(token={"tokenType": "MobilePhone", "value": "351#912345678"})
    deliver_at(world.loja, payload, 0)
    for user in (world.alice, world.adam, world.victor):
        html = login(user).get(url(payload["transactionID"])).content.decode()
        assert "351#*****5678" in html
        assert "912345678" not in html  # not even in the raw payload an Owner sees


def test_card_token_block_masked(world, login):
    payload = notification(paymentMethod="CARD", token={"tokenType": "Card", "value": "tok_abcd1234efgh5678"})
    deliver_at(world.loja, payload, 0)
    html = login(world.adam).get(url(payload["transactionID"]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    block = html[html.index('data-testid="block-token"') :]
    assert "Card" in block and "5678" in block
    assert "abcd1234efgh" not in html


def test_a_clear_value_stored_by_mistake_is_masked_on_the_page(world, login, porto_txn):
    Transaction.objects.filter(pk=porto_txn.pk).update(token_masked="4111111111111111", mbway_alias_masked="")
    html = login(world.alice).get(url(porto_txn.transaction_id)).content.decode()
    assert "4111111111111111" not in html
    assert "************1111" in html


def test_multibanco_reference_block(world, login):
    payload = notification(
        paymentMethod="REFERENCE",
        paymentType="PREF",
        paymentStatus="Success",
        token=None,
        amount={"value": "20.0", "currency": "EUR"},
        paymentReference={
            "reference": "256309828",
            "entity": "40200",
            "amount": {"value": "20.0", "currency": "EUR"},
            "status": "UNPAID",
            "expiryDate": "2030-07-23T10:48:39.153Z",
        },
    )
    deliver_at(world.loja, payload, 0)
    html = login(world.victor).get(url(payload["transactionID"]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    block = html[html.index('data-testid="block-reference"') :]
    assert "40200" in block
    assert "256 309 828" in block
    assert "23/07/2030 11:48:39 WEST" in block
    assert "Unpaid" in block
    assert 'data-state="awaiting_payment"' in html


def test_mandate_block(world, login):
    payload = notification(
        paymentType="AUTH",
        token=None,
        mbwayMandate={
            "mandateIdentification": "12345690656800744652",
            "mandateAction": "CRTN",
            "mandateActionStatus": "SCCS",
            "mandateType": "SBSC",
            "clientName": "Andresa COS",
            "aliasMBWAY": "351#914341580",
        },
    )
    deliver_at(world.loja, payload, 0)
    html = login(world.alice).get(url(payload["transactionID"]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    block = html[html.index('data-testid="block-mandate"') :]
    assert "12345690656800744652" in block and "Creation" in block and "Successful" in block
    assert "Andresa COS" in block
    assert "914341580" not in html
    assert "351#*****1580" in html


def test_mit_block_with_schedule(world, login):
    payload = notification(
        paymentMethod="CARD",
        paymentType="MITR",
        token=None,
        merchantInitiatedTransaction={
            "type": "RCRR",
            "amountQualifier": "ESTIMATED",
            "schedule": {
                "initialDate": "2026-04-01T00:00:00Z",
                "finalDate": "2027-04-01T00:00:00Z",
                "interval": "MONTHLY",
            },
        },
    )
    deliver_at(world.loja, payload, 0)
    html = login(world.alice).get(url(payload["transactionID"]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    block = html[html.index('data-testid="block-mit"') :]
    assert "Recurring" in block and "Estimated" in block and "MONTHLY" in block
    assert "2026-04-01" in block


def test_qr_purchase_billing_and_shipping(world, login):
    fixture = json.loads(Path("tests/payments/sibs/fixtures/example_09.json").read_text())
    fixture["merchant"] = {"terminalId": 11111}
    deliver_at(world.loja, fixture, 0)
    html = login(world.quinn).get(url(fixture["transactionID"]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    block = html[html.index('data-testid="block-qr"') :]
    billing = block[block.index('data-testid="qr-billing"') : block.index('data-testid="qr-shipping"')]
    shipping = block[block.index('data-testid="qr-shipping"') :]
    assert "Rua D João" in billing and "123456789" in billing
    assert "Olga Rodrigues" in shipping and "4646-846" in shipping
    assert "Nome info" in block
    assert "€1.50" in block and "€0.10" in block  # product and shipping amounts as money
    assert "Two-step purchase</dt><dd>No<" in block
    assert "934885128" not in html  # the MB WAY alias of the product is masked
    assert "351#*****5128" in block


def test_warnings_are_shown(world, login, paid):
    Transaction.objects.filter(pk=paid.pk).update(warnings=["terminal 99 unknown"])
    html = login(world.alice).get(url(paid.transaction_id)).content.decode()
    assert "terminal 99 unknown" in html


def test_hostile_content_is_escaped(world, login):
    payload = notification(
        paymentStatus="Declined",
        returnStatus={"statusCode": "<img src=x onerror=alert(1)>", "statusMsg": "<script>alert(1)</script>"},
        merchant={"transactionId": "<b>order</b>", "terminalId": 11111},
    )
    deliver_at(world.loja, payload, 0)
    html = login(world.alice).get(url(payload["transactionID"])).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x" not in html
    assert "<b>order</b>" not in html


# --- raw payloads only for those allowed ------------------------------------------------------


@pytest.mark.parametrize(("role", "sees_raw"), [
    ("owner", True), ("administrator", True), ("operator", False), ("finance", False), ("viewer", False),
    ("qr_manager", False), ("store_operator", False),
])  # fmt: skip
def test_raw_payloads_only_for_roles_with_the_capability(world, login, role, sees_raw):
    payload = notification(merchant={"transactionId": "raw-1", "terminalId": 22222}, onlyInRaw="raw-marker-7f3a")
    deliver_at(world.loja, payload, 0)
    response = login(world.by_role(role)).get(url(payload["transactionID"]))
    assert response.status_code == 200
    html = response.content.decode()
    # a field the parser does not know is only ever in the payload JSON
    marker = "raw-marker-7f3a"
    assert (marker in html) is sees_raw
    assert ('data-testid="raw-payload"' in html) is sees_raw
    assert ('"returnStatus"' in html or "&quot;returnStatus&quot;" in html) is sees_raw


def test_raw_payload_not_in_the_live_fragment_for_a_viewer(world, login, paid):
    html = login(world.victor).get(live_url(paid.transaction_id), {"v": "stale", "t": "0"}).content.decode()
    assert "returnStatus" not in html
    html = login(world.adam).get(live_url(paid.transaction_id), {"v": "stale", "t": "0"}).content.decode()
    assert "returnStatus" in html


# --- who may open what ------------------------------------------------------------------------


def test_paula_cannot_open_a_lisboa_transaction_but_can_open_porto(world, login, paid, porto_txn):
    client = login(world.paula)
    assert client.get(url(paid.transaction_id)).status_code == 404
    assert client.get(live_url(paid.transaction_id)).status_code == 404
    assert client.get(url(porto_txn.transaction_id)).status_code == 200


def test_paula_does_not_see_a_lisboa_refund_of_a_porto_payment_through_links(world, login, porto_txn):
    # A refund recorded against the Lisboa store (e.g. terminal moved) stays invisible to her.
    refund = Transaction.objects.create(
        merchant=world.loja, store=world.lisboa, transaction_id="lisboa-refund", payment_type="RFND",
        state="succeeded", original=porto_txn, amount=Decimal("1"), currency="EUR",
    )  # fmt: skip
    html = login(world.paula).get(url(porto_txn.transaction_id)).content.decode()
    assert refund.transaction_id not in html
    assert login(world.alice).get(url(porto_txn.transaction_id)).content.decode().count("lisboa-refund") >= 1


def test_an_operation_whose_id_no_url_can_carry_is_shown_unlinked(world, login, porto_txn):
    Transaction.objects.create(
        merchant=world.loja, store=world.porto, transaction_id="odd/id", payment_type="RFND",
        state="succeeded", original=porto_txn, amount=Decimal("1"), currency="EUR",
    )  # fmt: skip
    TransactionEvent.objects.create(
        transaction=porto_txn, merchant=world.loja, kind=EventKind.OPERATION, outcome=EventOutcome.APPLIED,
        payment_type="RFND", payment_status="Success",
        related_transaction=Transaction.objects.get(transaction_id="odd/id"),
    )  # fmt: skip
    response = login(world.paula).get(url(porto_txn.transaction_id), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<code>odd/id</code>" in html
    assert "odd/id/" not in html and "odd%2Fid" not in html
    assert "Refund: Success" in html


def test_other_merchants_transaction_is_a_404(world, login, paid):
    outra = notification(merchant={"transactionId": "o-1", "terminalId": 33333})
    deliver_at(world.outra, outra, 0)
    mallory = login(world.mallory)
    assert mallory.get(url(paid.transaction_id, merchant="outra")).status_code == 404
    assert mallory.get(url(paid.transaction_id, merchant="loja")).status_code == 404
    assert mallory.get(url(outra["transactionID"], merchant="outra")).status_code == 200
    alice = login(world.alice)
    assert alice.get(url(outra["transactionID"], merchant="loja")).status_code == 404


@pytest.mark.parametrize(
    "transaction_id",
    [
        "x" * 256,
        "x" * 5000,
        "ção€😀",
        "nul\x00byte",
        "tab\tand\nnewline",
        "' OR 1=1 --",
        "..",
        "%2e%2e",
        "<script>",
        " ",
    ],
)
def test_hostile_transaction_ids_are_404_never_500(world, login, paid, transaction_id):
    client = login(world.alice)
    path = f"/m/loja/transactions/{quote(transaction_id, safe='')}/"
    assert client.get(path).status_code == 404
    assert client.get(path + "live/").status_code == 404


def test_anonymous_is_sent_to_login_and_unknown_merchant_is_404(world, client, login, paid):
    response = client.get(url(paid.transaction_id))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert login(world.alice).get(url(paid.transaction_id, merchant="nope")).status_code == 404


def test_only_get(world, login, paid):
    client = login(world.alice)
    assert client.post(url(paid.transaction_id)).status_code == 405
    assert client.post(live_url(paid.transaction_id)).status_code == 405


# --- keeping the page current -----------------------------------------------------------------


def _version(html: str) -> tuple[str, str]:
    marker = 'data-version="'
    start = html.index(marker) + len(marker)
    version = html[start : html.index('"', start)]
    rendered = html[html.index('"t": "') + 6 :]
    return version, rendered[: rendered.index('"')]


def test_live_fragment_is_204_until_the_transaction_changes(world, login, porto_txn):
    client = login(world.alice)
    page = client.get(url(porto_txn.transaction_id), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    version, rendered_at = _version(page)
    unchanged = client.get(live_url(porto_txn.transaction_id), {"v": version, "t": rendered_at})
    assert unchanged.status_code == 204
    assert unchanged.content == b""

    # a refund arrives: new version, fresh balances and timeline swapped out of band
    refund = notification(
        paymentType="RFND",
        token=None,
        amount={"value": "6.20", "currency": "EUR"},
        merchant={"transactionId": "r-porto", "terminalId": 22222},
        originalTransaction={"id": porto_txn.transaction_id, "datetime": "2026-03-12T10:48:44Z"},
    )
    deliver_at(world.loja, refund, 30)
    changed = client.get(
        live_url(porto_txn.transaction_id), {"v": version, "t": rendered_at}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert changed.status_code == 200
    html = changed.content.decode()
    assert 'id="txn-poller"' in html
    assert 'id="txn-summary" class="panel txn-summary" hx-swap-oob="true"' in html
    assert 'id="txn-timeline" class="panel" hx-swap-oob="true"' in html
    assert 'id="txn-linked" class="panel" hx-swap-oob="true"' in html
    assert "€6.20" in html and "Partially refunded" in html
    # the summary keeps its labels when refreshed
    assert "<dd>MB WAY</dd>" in html and "<dd>Purchase</dd>" in html and "<dd>Success</dd>" in html
    new_version, _ = _version(html)
    assert new_version != version
    assert client.get(live_url(porto_txn.transaction_id), {"v": new_version, "t": rendered_at}).status_code == 204


def test_live_fragment_rebuilds_after_a_while_even_unchanged(world, login, porto_txn):
    """Registered sources (deliveries, operation requests) do not touch the transaction."""
    client = login(world.alice)
    version, _ = _version(client.get(url(porto_txn.transaction_id)).content.decode())
    old = str(int(timezone.now().timestamp()) - 3600)
    assert client.get(live_url(porto_txn.transaction_id), {"v": version, "t": old}).status_code == 200


@pytest.mark.parametrize(
    "params", [{}, {"v": "", "t": ""}, {"v": "x" * 5000, "t": "-1"}, {"t": "nan"}, {"t": "9" * 40}]
)
def test_live_fragment_with_malformed_parameters_renders(world, login, porto_txn, params):
    response = login(world.alice).get(live_url(porto_txn.transaction_id), params)
    assert response.status_code == 200
    assert 'id="txn-poller"' in response.content.decode()


def test_the_operations_panel_is_refreshed_with_the_rest_and_its_script_not_run_twice(world, login, porto_txn):
    client = login(world.alice)
    page = client.get(url(porto_txn.transaction_id), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert page.count('<div id="txn-operations">') == 1 and page.count("js/operations.js") == 1
    assert 'data-testid="op-open-refund"' in page
    version, rendered_at = _version(page)
    # refunded in full meanwhile: the refund button goes, without a reload
    refund = notification(
        paymentType="RFND",
        token=None,
        amount={"value": str(porto_txn.amount), "currency": "EUR"},
        merchant={"transactionId": "r-porto-full", "terminalId": 22222},
        originalTransaction={"id": porto_txn.transaction_id, "datetime": "2026-03-12T10:48:44Z"},
    )
    deliver_at(world.loja, refund, 30)
    html = client.get(
        live_url(porto_txn.transaction_id), {"v": version, "t": rendered_at}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert '<div id="txn-operations" hx-swap-oob="true">' in html
    assert 'data-testid="operations"' in html and 'data-testid="op-open-refund"' not in html
    assert "<script" not in html
    # the page polls only while no operation dialog or form is in use
    assert 'data-poll-paused-by="dialog[open], #txn-operations:focus-within"' in page


def test_a_viewer_gets_the_operations_panel_refreshed_without_actions(world, login, porto_txn):
    html = login(world.victor).get(live_url(porto_txn.transaction_id)).content.decode()
    assert '<div id="txn-operations" hx-swap-oob="true">' in html
    assert 'data-testid="op-not-allowed"' in html and "op-dialog" not in html


def test_a_partial_capture_reads_partially_captured_and_a_settled_payment_drops_the_caution(world, login):
    from tests.payments.test_listing import make_txn

    make_txn(
        world,
        transaction_id="s2partialcapture0001",
        payment_type="AUTH",
        payment_method="CARD",
        state="paid",
        amount=Decimal("14.72"),
        authorised_amount=Decimal("14.72"),
        captured_amount=Decimal("10.00"),
        return_code="000",
    )
    client = login(world.alice)
    body = client.get("/m/loja/transactions/s2partialcapture0001/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Partially captured" in body
    assert "This alone does not mean" not in body and "Operation processed successfully." in body
    listing_body = client.get("/m/loja/transactions/", HTTP_ACCEPT_LANGUAGE="pt").content.decode()
    assert "Parcialmente capturado" in listing_body

    make_txn(world, transaction_id="s2stillopen000000001", state="pending", return_code="000")
    body = client.get("/m/loja/transactions/s2stillopen000000001/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "This alone does not mean" in body
