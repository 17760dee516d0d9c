"""Exact figures from known transactions, in Lisbon days across the start of summer time, for
the whole merchant and for a member limited to one store; the pages, the CSV, the API."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.http import QueryDict
from django.test import Client
from django.utils import translation

from backoffice.access import Access
from backoffice.roles import Role
from payments.dashboards import selectors, services
from payments.dashboards.periods import parse_query
from tests.payments.test_api_transactions import api, assert_error, key_for
from tests.webhooks.support import again, deliver, notification

D = Decimal


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def purchase(terminal: int, status: str, amount: str, method: str = "MBWAY", code: str = "000", **extra) -> dict:
    return notification(
        paymentMethod=method,
        paymentStatus=status,
        returnStatus={"statusCode": code, "statusMsg": status},
        token=None,
        amount={"value": amount, "currency": "EUR"},
        merchant={"transactionId": f"o-{terminal}-{amount}-{status}", "terminalId": terminal},
        **extra,
    )


def reference(terminal: int, number: str) -> dict:
    return notification(
        paymentMethod="REFERENCE",
        paymentType="PREF",
        token=None,
        amount={"value": "20.00", "currency": "EUR"},
        merchant={"transactionId": f"ref-{number}", "terminalId": terminal},
        paymentReference={
            "reference": number,
            "entity": "40200",
            "amount": {"value": "20.00", "currency": "EUR"},
            "status": "UNPAID",
            "expiryDate": "2030-01-23T10:48:39.153Z",
        },
    )


@pytest.fixture
def known(world):
    """Lisbon moves to summer time at 01:00 UTC on Sunday 29 March 2026."""
    loja = world.loja
    # 23:30 UTC on Saturday 28 is 23:30 in Lisbon: the 28th.
    deliver(loja, purchase(11111, "Success", "10.00"), received_at=at("2026-03-28T23:30"))
    # 23:30 UTC on Sunday 29 is 00:30 on Monday 30 in Lisbon.
    card = purchase(22222, "Success", "20.00", method="CARD")
    deliver(loja, card, received_at=at("2026-03-29T23:30"))
    deliver(loja, purchase(11111, "Declined", "5.00", code="01.106.0004"), received_at=at("2026-03-29T12:00"))
    deliver(loja, purchase(22222, "Error", "7.00", method="CARD", code="E0707"), received_at=at("2026-03-29T13:00"))
    deliver(loja, purchase(22222, "Expired", "3.00"), received_at=at("2026-03-29T14:00"))
    refund = notification(
        paymentType="RFND",
        paymentMethod="CARD",
        token=None,
        amount={"value": "5.00", "currency": "EUR"},
        merchant={"transactionId": "refund-1", "terminalId": 22222},
        originalTransaction={"id": card["transactionID"], "datetime": "2026-03-29T23:30:00Z"},
    )
    deliver(loja, refund, received_at=at("2026-03-30T09:00"))
    paid_later = reference(22222, "111111111")
    deliver(loja, paid_later, received_at=at("2026-03-29T10:00"))
    paid = again(paid_later, paymentReference=None, transactionDateTime="2026-03-29T12:30:00Z")
    deliver(loja, paid, received_at=at("2026-03-29T12:30"))
    deliver(loja, reference(11111, "222222222"), received_at=at("2026-03-29T11:00"))
    # Another merchant's payment the same day: never counted.
    deliver(
        world.outra,
        purchase(33333, "Success", "999.00"),
        received_at=at("2026-03-29T12:00"),
    )
    services.rollups_sweep()
    return world


PARAMS = {"from": "2026-03-28", "to": "2026-03-30", "grain": "day", "compare": "none", "currency": "EUR"}


def history_for(membership, **extra):
    access = Access.for_membership(membership)
    query, errors, _form = parse_query(QueryDict(urlencode({**PARAMS, **extra})), access=access)
    assert errors == {}
    return selectors.history(access, query)


def by_day(h) -> dict:
    return {b.date().isoformat(): h.series.get(b) or selectors.Totals() for b in h.buckets}


@pytest.mark.postgres
def test_lisbon_days_across_the_summer_time_change(known):
    h = history_for(known.m_fiona)
    assert [b.isoformat() for b in h.buckets] == [
        "2026-03-28T00:00:00+00:00",
        "2026-03-29T00:00:00+00:00",
        "2026-03-30T00:00:00+01:00",
    ]
    days = by_day(h)
    sat, sun, mon = days["2026-03-28"], days["2026-03-29"], days["2026-03-30"]
    assert (sat.gross(), sat.successes(), sat.declines(), sat.success_rate()) == (D("10.00"), 1, 0, 1.0)
    # Sunday: the reference paid (20.00), one decline; the error and the unanswered MB WAY
    # request are beside the rate, not in it.
    assert (sun.gross(), sun.successes(), sun.declines(), sun.success_rate()) == (D("20.00"), 1, 1, 0.5)
    assert (sun.errors(), sun.unanswered()) == (1, 1)
    assert (mon.gross(), mon.refunds(), mon.net()) == (D("20.00"), (D("5.00"), 1), D("15.00"))
    assert h.total.gross() == D("50.00") and h.total.net() == D("45.00")
    assert h.references == {"issued": 2, "success": 1, "awaiting": 1}
    assert h.reference_delays == {2: 1}  # paid 2.5 hours after issue
    assert [(r["return_code"], r["outcome"], r["n"]) for r in h.declines] == [
        ("01.106.0004", "declined", 1),
        ("E0707", "error", 1),
    ]
    stores = {s["store_id"]: s["totals"].gross() for s in h.stores}
    assert stores == {known.lisboa.pk: D("10.00"), known.porto.pk: D("40.00")}


@pytest.mark.postgres
def test_a_store_limited_member_sees_only_their_store_in_every_figure(known):
    h = history_for(known.m_paula)
    days = by_day(h)
    assert days["2026-03-28"].successes() == 0 and days["2026-03-28"].gross() == 0
    assert (days["2026-03-29"].gross(), days["2026-03-29"].declines(), days["2026-03-29"].errors()) == (
        D("20.00"),
        0,
        1,
    )
    assert days["2026-03-30"].net() == D("15.00")
    assert h.references == {"issued": 1, "success": 1}
    assert [r["return_code"] for r in h.declines] == ["E0707"]
    assert {s["store_id"] for s in h.stores} == {known.porto.pk}
    # Asking for the other store shows nothing of it: the filter is not accepted.
    access = Access.for_membership(known.m_paula)
    _q, errors, _f = parse_query(QueryDict(urlencode({**PARAMS, "store": known.lisboa.pk})), access=access)
    assert "store" in errors
    cockpit = selectors.cockpit(access, now=at("2026-03-29T20:00"))
    assert cockpit.current.gross() == D("20.00") and cockpit.current.declines() == 0
    assert cockpit.references_unpaid == 0  # the unpaid one is Lisboa's
    assert selectors.cockpit(Access.for_membership(known.m_fiona), now=at("2026-03-29T20:00")).references_unpaid == 1


@pytest.mark.postgres
def test_filters_by_method_and_terminal(known):
    h = history_for(known.m_fiona, method="CARD")
    assert h.total.gross() == D("20.00") and h.total.errors() == 1 and h.total.declines() == 0
    h = history_for(known.m_fiona, terminal="11111")
    assert h.total.gross() == D("10.00") and h.total.declines() == 1


@pytest.mark.postgres
def test_comparison_with_the_previous_period_and_a_year_earlier(known):
    h = history_for(known.m_fiona, **{"from": "2026-03-31", "to": "2026-04-02", "compare": "previous"})
    assert h.total.gross() == 0
    assert [b.date().isoformat() for b in h.compare_buckets] == ["2026-03-28", "2026-03-29", "2026-03-30"]
    assert h.compare_total.gross() == D("50.00")
    h = history_for(known.m_fiona, **{"from": "2027-03-28", "to": "2027-03-30", "compare": "year"})
    assert h.compare_total.gross() == D("50.00")


@pytest.mark.postgres
def test_pages_render_with_tables_csv_and_links_to_the_filtered_list(known, client):
    client.force_login(known.fiona)
    response = client.get("/m/loja/dashboards/history/", PARAMS)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Success rate = successful ÷ (successful + declined)" in html
    assert "Europe/Lisbon" in html
    assert "plotly/plotly.min.js" in html
    # The decline reason in words, linked to the list filtered by its code.
    assert "code=01.106.0004" in html
    list_url = next(
        part.split('"')[0] for part in html.split('href="') if "code=01.106.0004" in part.split('"')[0]
    ).replace("&amp;", "&")
    listed = client.get(list_url)
    assert listed.status_code == 200
    assert listed.context["page"].rows and all(t.return_code == "01.106.0004" for t in listed.context["page"].rows)
    rows = list(
        csv.reader(io.StringIO(client.get("/m/loja/dashboards/history/", {**PARAMS, "csv": "volume"}).content.decode()))
    )
    assert rows[0][0] == "Period" and [r[0] for r in rows[1:]] == ["2026-03-28", "2026-03-29", "2026-03-30"]
    assert rows[1][-1] == "10.00" and rows[2][-1] == "20.00" and rows[3][-1] == "20.00"
    assert client.get("/m/loja/dashboards/history/", {**PARAMS, "csv": "nope"}).status_code == 404
    with translation.override("pt"):
        response = client.get("/m/loja/dashboards/history/", PARAMS, HTTP_ACCEPT_LANGUAGE="pt")
    assert "Taxa de sucesso" in response.content.decode()
    assert "50,00\u00a0€" in response.content.decode()


@pytest.mark.postgres
def test_drill_down_links_list_exactly_what_the_bar_counts(known, client):
    """The link of Sunday's successful payments lists the one reference paid that day."""
    client.force_login(known.fiona)
    from payments.dashboards import figures

    access = Access.for_membership(known.m_fiona)
    query, _e, _f = parse_query(QueryDict(urlencode(PARAMS)), access=access)
    links = figures.Links("loja", query)
    sunday = query.window.buckets[1]
    url = links.bucket(query.window, sunday, states=figures.SUCCESS_STATES, types=figures.PAYMENT_TYPES)
    rows = client.get(url).context["page"].rows
    assert [t.reference_number for t in rows] == ["111111111"]
    monday = query.window.buckets[2]
    url = links.bucket(query.window, monday, states=figures.SUCCESS_STATES, types=figures.PAYMENT_TYPES)
    assert [t.amount for t in client.get(url).context["page"].rows] == [D("20.00")]


def test_bad_parameters_are_reported_never_a_500(world, client):
    client.force_login(world.fiona)
    for params in (
        {"from": "2026-02-30", "to": "2026-03-01"},
        {"from": "2026-03-10", "to": "2026-03-01"},
        {"from": "1999-01-01", "to": "2026-01-01"},
        {"grain": "hour", "period": "12m"},
        {"period": "forever", "compare": "<script>", "currency": "€€€", "store": "x", "method": "BITCOIN"},
        {"terminal": "1" * 300, "from": "x" * 5000},
    ):
        response = client.get("/m/loja/dashboards/history/", params)
        assert response.status_code == 400, params
        assert b"<script>" not in response.content
    assert client.get("/m/loja/dashboards/history/", {"csv": "volume", "from": "bad"}).status_code in (200, 400)
    assert client.get("/m/loja/dashboards/live/", {"v": "not a date"}).status_code == 200
    assert client.get("/m/loja/dashboards/", {"currency": "'; drop"}).status_code == 200


def test_permissions(world, client):
    for user, status in ((world.fiona, 200), (world.victor, 200), (world.quinn, 403)):
        client.force_login(user)
        assert client.get("/m/loja/dashboards/").status_code == status
    client.force_login(world.fiona)
    assert client.get("/m/outra/dashboards/history/").status_code == 404
    assert Client().get("/m/loja/dashboards/").status_code == 302


def test_live_poll_answers_204_when_nothing_changed(world, client):
    client.force_login(world.fiona)
    deliver(world.loja, purchase(11111, "Success", "1.00"))
    first = client.get("/m/loja/dashboards/live/")
    assert first.status_code == 200
    version = first.content.decode().split("v=")[1].split('"')[0]
    from urllib.parse import unquote

    assert client.get("/m/loja/dashboards/live/", {"v": unquote(version)}).status_code == 204
    deliver(world.loja, purchase(11111, "Success", "2.00"))
    assert client.get("/m/loja/dashboards/live/", {"v": unquote(version)}).status_code == 200


@pytest.mark.postgres
def test_metrics_api(known):
    key = key_for(known, role=Role.FINANCE)
    body = api(key).get("/api/v1/metrics/summary", PARAMS).json()
    assert body["metrics"]["gross_volume"] == "50.00" and body["metrics"]["net_volume"] == "45.00"
    assert body["metrics"]["success_rate"] == pytest.approx(3 / 4)
    assert body["references"] == {
        "issued": 2,
        "paid": 1,
        "awaiting": 1,
        "expired": 0,
        "cancelled": 0,
        "conversion_rate": 0.5,
    }
    series = api(key).get("/api/v1/metrics/timeseries", PARAMS).json()
    assert [p["metrics"]["gross_volume"] for p in series["points"]] == ["10.00", "20.00", "20.00"]
    assert series["points"][2]["bucket"] == "2026-03-30T00:00:00+01:00"
    assert series["points"][0]["by_method"]["MBWAY"] == {"gross_volume": "10.00", "successful": 1}
    assert series["points"][1]["by_method"]["REFERENCE"] == {"gross_volume": "20.00", "successful": 1}
    limited = key_for(known, role=Role.VIEWER, stores=[known.porto])
    assert api(limited).get("/api/v1/metrics/summary", PARAMS).json()["metrics"]["gross_volume"] == "40.00"
    assert_error(
        api(key).get("/api/v1/metrics/summary", {"from": "2026-13-01", "to": "x"}), 400, "validation_error", "from"
    )
    assert api("nonsense").get("/api/v1/metrics/summary").status_code == 401
    schema = Client().get("/api/v1/schema/").content.decode()
    assert "/api/v1/metrics/summary" in schema and "/api/v1/metrics/timeseries" in schema


def test_the_hour_repeated_when_summer_time_ends_stays_two_bars():
    from datetime import date

    from payments.dashboards import figures
    from payments.dashboards.periods import window_for

    window = window_for(date(2026, 10, 25), date(2026, 10, 25), "hour")
    assert len(window.buckets) == 25
    labels = figures.hour_labels(window.buckets)
    assert len(set(labels)) == 25
    assert labels[1:3] == ["25/10 01:00 WEST", "25/10 01:00 WET"]
    assert len(window_for(date(2026, 3, 29), date(2026, 3, 29), "hour").buckets) == 23
