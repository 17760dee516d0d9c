"""Payouts, exceptions, upload, settings pages and the settlements API, as people use them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from backoffice.models import AuditEvent
from backoffice.roles import Role
from reconciliation.models import (
    ExceptionAction,
    ExceptionKind,
    ExceptionState,
    LineStatus,
    ReconciliationException,
    ReconciliationSettings,
    SettlementFile,
    SettlementLine,
)
from tests.factories import make_membership, make_user
from tests.reconciliation.support import csv_bytes, do_import, line, make_txn

pytestmark = pytest.mark.django_db
NAME = "SIBS_Reconciliation_20261202001500.csv"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(datetime(2026, 12, 2, 9, 0, tzinfo=UTC), tick=False):
        yield


def url(name: str, merchant: str = "loja", **kwargs) -> str:
    return reverse(f"reconciliation:{name}", kwargs={"merchant": merchant, **kwargs})


@pytest.fixture
def imported(world):
    make_txn(world.t_lisboa, "OK1", "20.00")
    make_txn(world.t_lisboa, "AMT", "19.99")
    make_txn(world.t_porto, "PRT", "7.00")
    data = csv_bytes(line("OK1"), line("AMT"), line("PRT", "7.00", "0.07", terminal=22222), line("GHOST"))
    return do_import(world.loja, data)


@pytest.mark.parametrize("role", ["owner", "administrator", "finance"])
def test_reconcilers_see_payouts(world, login, imported, role):
    client = login(world.by_role(role))
    response = client.get(url("payouts"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "PAY-20261202" in body and "Not reconciled" in body
    # 4 lines, 2 matched (OK1, PRT): 50 %
    assert "50 %" in body


@pytest.mark.parametrize("role", ["operator", "viewer", "qr_manager"])
def test_other_roles_are_refused(world, login, role):
    client = login(world.by_role(role))
    for name in ("payouts", "exceptions", "upload"):
        assert client.get(url(name)).status_code == 403


def test_another_merchant_is_a_404(world, login, imported):
    client = login(world.mallory)
    assert client.get(url("payouts")).status_code == 404
    exc = ReconciliationException.objects.first()
    assert login(world.mallory).get(url("exception", merchant="outra", pk=exc.pk)).status_code == 404


def test_store_limits_hold(world, login, imported):
    porto_finance = make_user("pf@loja.example")
    make_membership(porto_finance, world.loja, Role.FINANCE, stores=[world.porto])
    client = login(porto_finance)
    body = client.get(url("payout") + "?date=2026-12-02&ref=PAY-20261202").content.decode()
    assert "PRT" in body and "OK1" not in body and "AMT" not in body
    amt = ReconciliationException.objects.get(kind=ExceptionKind.AMOUNT)
    assert client.get(url("exception", pk=amt.pk)).status_code == 404
    assert "data-exception" not in client.get(url("exceptions")).content.decode()


def test_upload_refuses_a_bad_file_with_line_numbers(world, login):
    client = login(world.fiona)
    bad = SimpleUploadedFile(NAME, csv_bytes(line("A"), "2026-12-02;PAY;B", line("C", "1.00", "0.10", net="0.80")))
    response = client.post(url("upload"), {"file": bad})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Line 2" in body and "3 columns" in body and "Line 3" in body
    assert not SettlementLine.objects.exists()


def test_upload_imports_then_says_already_imported(world, login):
    client = login(world.fiona)
    data = csv_bytes(line("A"))
    first = client.post(url("upload"), {"file": SimpleUploadedFile(NAME, data)}, follow=True)
    assert "imported: 1 lines" in first.content.decode()
    second = client.post(url("upload"), {"file": SimpleUploadedFile(NAME, data)}, follow=True)
    assert "imported already" in second.content.decode()
    assert SettlementFile.objects.count() == 1


def test_an_amount_exception_shows_both_sides_and_resolves_with_history(world, login, imported):
    client = login(world.fiona)
    exc = ReconciliationException.objects.get(kind=ExceptionKind.AMOUNT)
    page = client.get(url("exception", pk=exc.pk)).content.decode()
    assert "gross amount: €20.00 in the file, €19.99 here" in page
    # a reason is required
    response = client.post(url("exception", pk=exc.pk), {"action": "resolve", "resolution": "accepted"})
    assert response.status_code == 200 and "field-error" in response.content.decode()
    response = client.post(
        url("exception", pk=exc.pk),
        {"action": "resolve", "resolution": "accepted", "reason": "rounding", "comment": "1 cent"},
    )
    assert response.status_code == 302
    exc.refresh_from_db()
    assert (exc.state, exc.resolution, exc.resolution_reason) == ("resolved", "accepted", "rounding")
    assert SettlementLine.objects.get(sibs_transaction_id="AMT").reconciled
    assert AuditEvent.objects.filter(action="reconciliation.exception_resolved", actor=world.fiona).exists()
    # reopen, and the history keeps every step
    client.post(url("exception", pk=exc.pk), {"action": "reopen", "comment": "checking again"})
    exc.refresh_from_db()
    assert exc.state == ExceptionState.OPEN
    assert not SettlementLine.objects.get(sibs_transaction_id="AMT").reconciled
    assert list(exc.actions.values_list("action", flat=True)) == ["opened", "resolved", "reopened"]


def test_a_missing_line_is_matched_by_hand_and_the_payout_reconciles(world, login, imported):
    client = login(world.fiona)
    make_txn(world.t_lisboa, "REALID", "20.00", merchant_transaction_id="x")
    ghost = ReconciliationException.objects.get(kind=ExceptionKind.MISSING_HERE)
    response = client.post(
        url("exception", pk=ghost.pk),
        {
            "action": "resolve",
            "resolution": "matched_manually",
            "reason": "confirmed_with_sibs",
            "transaction_id": "REALID",
        },
    )
    assert response.status_code == 302
    ghost_line = SettlementLine.objects.get(sibs_transaction_id="GHOST")
    assert (ghost_line.status, ghost_line.match_method, ghost_line.transaction.transaction_id) == (
        LineStatus.MATCHED,
        "manual",
        "REALID",
    )
    amt = ReconciliationException.objects.get(kind=ExceptionKind.AMOUNT)
    client.post(url("exception", pk=amt.pk), {"action": "resolve", "resolution": "written_off", "reason": "rounding"})
    body = client.get(url("payouts")).content.decode()
    assert "Reconciled" in body and "Not reconciled" not in body and "100 %" in body


def test_matching_by_hand_to_another_merchants_transaction_is_refused(world, login, imported):
    make_txn(world.t_outra, "THEIRS")
    ghost = ReconciliationException.objects.get(kind=ExceptionKind.MISSING_HERE)
    response = login(world.fiona).post(
        url("exception", pk=ghost.pk),
        {
            "action": "resolve",
            "resolution": "matched_manually",
            "reason": "other",
            "comment": "x",
            "transaction_id": "THEIRS",
        },
    )
    assert response.status_code == 200
    assert "No transaction you can see" in response.content.decode()
    ghost.refresh_from_db()
    assert ghost.state == ExceptionState.OPEN


def test_bulk_resolve_with_one_reason(world, login, imported):
    client = login(world.fiona)
    ids = list(ReconciliationException.objects.values_list("pk", flat=True))
    response = client.post(
        url("bulk_resolve"),
        {"ids": [str(i) for i in ids], "resolution": "written_off", "reason": "confirmed_with_sibs"},
    )
    assert response.status_code == 302
    assert not ReconciliationException.objects.filter(state="open").exists()
    assert ExceptionAction.objects.filter(action="resolved", reason="confirmed_with_sibs").count() == len(ids)
    # a second time is a no-op, not an error
    client.post(url("bulk_resolve"), {"ids": [str(i) for i in ids], "resolution": "written_off", "reason": "rounding"})
    assert ExceptionAction.objects.filter(action="resolved").count() == len(ids)


def test_exception_queue_filters_by_kind(world, login, imported):
    body = login(world.fiona).get(url("exceptions") + "?state=open&kind=missing_here").content.decode()
    assert 'data-kind="missing_here"' in body and 'data-kind="amount_difference"' not in body


def test_settings_are_for_owners_and_administrators(world, login):
    assert login(world.fiona).get(url("settings")).status_code == 403
    client = login(world.alice)
    response = client.post(
        url("settings"),
        {
            "section": "matching",
            "m-layout": "custom",
            "m-tolerance": "0.05",
            "m-expected_business_days": "3",
            "m-column_map_text": "column_count=3\ntransaction_id=1",
        },
    )
    assert response.status_code == 200 and "Every required field needs a column" in response.content.decode()
    response = client.post(
        url("settings"),
        {"section": "matching", "m-layout": "v1", "m-tolerance": "0.05", "m-expected_business_days": "3"},
    )
    assert response.status_code == 302
    settings = ReconciliationSettings.objects.get(merchant=world.loja)
    assert (settings.tolerance, settings.expected_business_days) == (Decimal("0.05"), 3)


def test_the_transaction_page_shows_its_settlement(world, login, imported):
    body = login(world.fiona).get(reverse("payments:transaction", kwargs={"merchant": "loja", "transaction_id": "OK1"}))
    text = body.content.decode()
    assert 'data-settlement="settled"' in text and "PAY-20261202" in text
    viewer = login(world.victor).get(
        reverse("payments:transaction", kwargs={"merchant": "loja", "transaction_id": "OK1"})
    )
    assert "data-settlement" not in viewer.content.decode()


# --------------------------------------------------------------------------- API


@pytest.fixture
def api(client, world):
    from backoffice.services import api_key_create

    def _api(role=Role.FINANCE):
        from backoffice.access import Access
        from backoffice.audit import SYSTEM

        access = Access.for_membership(world.m_alice)
        _, raw = api_key_create(access=access, actor=SYSTEM, name="recon", role=role, stores=[])
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
        return client

    return _api


def test_api_imports_once_and_refuses_bad_files(world, api):
    client = api()
    endpoint = "/api/v1/settlements"
    data = csv_bytes(line("A"))
    first = client.post(endpoint, {"file": SimpleUploadedFile(NAME, data)})
    assert first.status_code == 201, first.content
    assert first.json()["line_count"] == 1 and first.json()["exception_count"] == 1
    again = client.post(endpoint, {"file": SimpleUploadedFile(NAME, data)})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    bad = client.post(endpoint, {"file": SimpleUploadedFile("x.csv", b"1;2;3\n")})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "file_refused"
    assert bad.json()["error"]["lines"][0]["line"] == 1
    assert client.post(endpoint, {}).status_code == 400
    assert client.post(endpoint, data=b"{}", content_type="application/json").status_code == 415
    assert [f["name"] for f in client.get(endpoint).json()] == [NAME]


def test_api_needs_the_reconcile_capability(world, api):
    client = api(Role.VIEWER)
    assert client.post("/api/v1/settlements", {"file": SimpleUploadedFile(NAME, b"x")}).status_code == 403


def test_the_transaction_list_filters_by_settlement(world, login, imported):
    make_txn(world.t_lisboa, "NEW", "3.00")  # successful, in no file yet, not overdue: expected
    client = login(world.fiona)
    listing = reverse("payments:transactions", kwargs={"merchant": "loja"})

    def ids(query: str) -> set[str]:
        body = client.get(f"{listing}?{query}").content.decode()
        return {tid for tid in ("OK1", "AMT", "PRT", "NEW") if f">{tid}<" in body or f'"{tid}"' in body}

    assert ids("settlement=settled") == {"OK1", "PRT"}
    assert ids("settlement=exception") == {"AMT"}
    assert ids("settlement=expected") == {"NEW"}
    api = client.get("/api/v1/transactions?settlement=exception", HTTP_X_MERCHANT="loja").json()
    assert [t["transaction_id"] for t in api["results"]] == ["AMT"]


def test_the_settlement_filter_is_ignored_for_people_who_do_not_reconcile(world, login, imported):
    listing = reverse("payments:transactions", kwargs={"merchant": "loja"})
    body = login(world.victor).get(f"{listing}?settlement=settled").content.decode()
    assert "settlement-filter" not in body and "AMT" in body


def test_live_updates_of_a_settlement_filtered_list_keep_to_the_filter(world, imported):
    from django.http import QueryDict

    from backoffice.access import Access
    from payments.selectors import listing

    access = Access.for_membership(world.m_fiona)
    filters, errors, _ = listing.parse_filters(QueryDict("settlement=exception"), access=access)
    assert not errors and filters.settlement == "exception"
    token = listing.live_token(datetime(2026, 12, 1, tzinfo=UTC))
    batch = listing.live_changes(access=access, filters=filters, token=token)
    by_pk = {t.pk: t.transaction_id for t in batch.rows}
    assert {by_pk[pk] for pk in batch.matching_pks} == {"AMT"}
