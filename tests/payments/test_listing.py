"""The transaction list: filters, search, keyset pages, tabs, live changes, saved views, and the page."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.models import AuditEvent
from payments.models import SavedView, Transaction
from payments.selectors import listing, saved_views
from payments.selectors.listing import Cursor, InvalidCursor, Search, Tab, parse_amount
from payments.services import saved_views as saved_view_services
from tests.webhooks.support import deliver, notification

_n = itertools.count(1)
NOW = timezone.now()


def make_txn(world, *, terminal=None, merchant=None, minutes_ago: float = 0, **fields) -> Transaction:
    """A transaction row as the ledger leaves it (default: a paid MB WAY purchase at Lisboa)."""
    n = next(_n)
    terminal = terminal if terminal is not None else world.t_lisboa
    at = fields.pop("created_at", NOW - timedelta(minutes=minutes_ago))
    values = {
        "transaction_id": f"s2list{n:012d}",
        "merchant_transaction_id": f"order-{n}",
        "payment_method": "MBWAY",
        "payment_type": "PURS",
        "payment_status": "Success",
        "state": "paid",
        "amount": Decimal("10.00"),
        "currency": "EUR",
        **fields,
    }
    return Transaction.objects.create(
        merchant=merchant or terminal.store.merchant,
        store=terminal.store,
        terminal=terminal,
        terminal_number=terminal.terminal_id,
        created_at=at,
        updated_at=at,
        **values,
    )


def access_of(membership) -> Access:
    return Access.for_membership(membership)


def filters_for(access, query: str = "", **params):
    qd = QueryDict(query, mutable=True)
    for key, value in params.items():
        qd.setlist(key, value if isinstance(value, list) else [value])
    filters, errors, _form = listing.parse_filters(qd, access=access)
    return filters, errors


def ids(rows) -> list[str]:
    return [t.transaction_id for t in rows]


def all_pages(access, filters, size):
    seen, cursor = [], None
    for _ in range(100):
        page = listing.transaction_page(access=access, filters=filters, cursor=cursor, size=size)
        seen.append(ids(page.rows))
        if page.next_cursor is None:
            return seen
        cursor = Cursor.decode(page.next_cursor)
    raise AssertionError("pages never end")


# --- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16.20", "16.20"),
        ("16,20", "16.20"),
        ("1 234,56 €", "1234.56"),
        ("1\u202f234,56\u00a0€", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("€16", "16"),
        ("1.234", "1234"),
        ("0.005", "0.005"),
        ("16", "16"),
    ],
)
def test_amounts_are_read_as_people_type_them(text, expected):
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "abc", "-5", "1.2345", "1e9", "10" * 20, "NaN", "1..2", "12,3,4.5.6"])
def test_what_is_not_an_amount_is_none(text):
    assert parse_amount(text) is None


def test_search_text_is_read_every_way_it_can_mean():
    assert Search.parse("256 309 828").reference == ("", "256309828")
    assert Search.parse("40200 256309828").reference == ("40200", "256309828")
    assert Search.parse("5678").alias_digits == "5678"
    assert Search.parse("351#*****5678").alias_digits == "5678"
    assert Search.parse("912345678").alias_digits == "5678"
    assert Search.parse("s2Vu6tu9dU8").amount is None
    assert Search.parse("16,20").amount == Decimal("16.20")


# --- pages -----------------------------------------------------------------------------------


def test_pages_are_newest_first_and_cover_everything_once(world):
    made = [make_txn(world, minutes_ago=i) for i in range(7)]
    # two rows with the same instant: the id breaks the tie, none is skipped or repeated
    twin = make_txn(world, created_at=made[3].created_at)
    access = access_of(world.m_alice)
    filters, _ = filters_for(access)
    pages = all_pages(access, filters, size=3)
    flat = [tid for page in pages for tid in page]
    assert len(flat) == 8 and len(set(flat)) == 8
    expected = sorted([*made, twin], key=lambda t: (t.created_at, t.pk), reverse=True)
    assert flat == ids(expected)
    assert [len(p) for p in pages] == [3, 3, 2]


def test_previous_page_goes_back_exactly(world):
    for i in range(7):
        make_txn(world, minutes_ago=i)
    access = access_of(world.m_alice)
    filters, _ = filters_for(access)
    first = listing.transaction_page(access=access, filters=filters, size=3)
    second = listing.transaction_page(access=access, filters=filters, cursor=Cursor.decode(first.next_cursor), size=3)
    back = listing.transaction_page(access=access, filters=filters, cursor=Cursor.decode(second.prev_cursor), size=3)
    assert ids(back.rows) == ids(first.rows)
    assert back.prev_cursor is None and first.prev_cursor is None
    assert back.next_cursor is not None


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "",
        "x" * 500,
        "bjE3MDAwMDAwMDAwMDAwMDAuMQ",  # base64 of an unsigned position
        pytest.param(Cursor(created_at=NOW, pk=1).encode()[:-3] + "AAA", id="signature-tampered"),
    ],
)
def test_a_tampered_cursor_is_refused(token):
    with pytest.raises(InvalidCursor):
        Cursor.decode(token)


def test_a_cursor_round_trips_to_the_microsecond():
    cursor = Cursor(created_at=datetime(2026, 3, 12, 10, 48, 44, 123456, tzinfo=listing.UTC), pk=42, forward=False)
    assert Cursor.decode(cursor.encode()) == cursor


# --- filters ---------------------------------------------------------------------------------


def test_each_filter_narrows_the_list(world):
    paid = make_txn(world, minutes_ago=1)
    pending_ref = make_txn(
        world,
        terminal=world.t_porto,
        minutes_ago=2,
        payment_method="REFERENCE",
        state="awaiting_payment",
        amount=Decimal("99.90"),
        reference_entity="40200",
        reference_number="256309828",
    )
    old_card = make_txn(
        world,
        minutes_ago=60 * 24 * 40,
        payment_method="CARD",
        payment_type="AUTH",
        state="authorised",
        currency="USD",
        amount=Decimal("30"),
    )
    access = access_of(world.m_alice)

    def rows(**params):
        filters, errors = filters_for(access, **params)
        assert errors == {}
        return ids(listing.transaction_page(access=access, filters=filters).rows)

    assert rows() == ids([paid, pending_ref, old_card])
    assert rows(store=str(world.porto.pk)) == ids([pending_ref])
    assert rows(terminal=str(world.t_lisboa.terminal_id)) == ids([paid, old_card])
    assert rows(method="REFERENCE") == ids([pending_ref])
    assert rows(method=["REFERENCE", "CARD"]) == ids([pending_ref, old_card])
    assert rows(type="AUTH") == ids([old_card])
    assert rows(status="awaiting_payment") == ids([pending_ref])
    assert rows(amount_min="50") == ids([pending_ref])
    assert rows(amount_max="10,00") == ids([paid])
    assert rows(currency="usd") == ids([old_card])
    assert rows(period="30d") == ids([paid, pending_ref])
    assert rows(period="24h", method="MBWAY") == ids([paid])
    assert rows(tab="pending") == ids([pending_ref])
    assert rows(tab="to_capture") == ids([old_card])
    assert rows(tab="success") == ids([paid])
    day = old_card.created_at.astimezone(listing.LISBON).date()
    assert rows(**{"from": day.isoformat(), "to": day.isoformat()}) == ids([old_card])


def test_custom_dates_are_whole_days_in_lisbon(world):
    access = access_of(world.m_alice)
    filters, errors = filters_for(access, **{"from": "2026-07-01", "to": "2026-07-01"})
    assert errors == {} and filters.period == "custom"
    # summer time: Lisbon is UTC+1, so the day starts at 23:00 UTC the day before
    assert filters.since.astimezone(listing.UTC) == datetime(2026, 6, 30, 23, 0, tzinfo=listing.UTC)
    assert filters.until - filters.since == timedelta(days=1)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-45"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"from": "1900-01-01"}, "from"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "to"),
        ({"amount_min": "-5"}, "amount_min"),
        ({"amount_min": "1e308"}, "amount_min"),
        ({"amount_max": "99999999999999999"}, "amount_max"),
        ({"amount_min": "5", "amount_max": "1"}, "amount_max"),
        ({"currency": "EURO"}, "currency"),
        ({"currency": "€"}, "currency"),
        ({"method": "BITCOIN"}, "method"),
        ({"status": "paid'; DROP TABLE payments_transaction; --"}, "status"),
        ({"period": "forever"}, "period"),
        ({"tab": "everything"}, "tab"),
        ({"store": "abc"}, "store"),
        ({"terminal": "99999"}, "terminal"),
        ({"q": "x" * 101}, "q"),
        ({"q": "abc\x00def"}, "q"),
    ],
)
def test_bad_filters_are_reported_and_left_out(world, params, field):
    make_txn(world)
    access = access_of(world.m_alice)
    filters, errors = filters_for(access, **params)
    assert field in errors
    assert field not in dict(filters.params)
    assert len(listing.transaction_page(access=access, filters=filters).rows) == 1


def test_another_merchants_store_or_terminal_is_just_not_valid(world):
    access = access_of(world.m_alice)
    _filters, errors = filters_for(access, store=str(world.outra_store.pk), terminal=str(world.t_outra.terminal_id))
    assert set(errors) == {"store", "terminal"}
    # the message is the same as for a store that does not exist at all: nothing leaks
    _f, missing = filters_for(access, store="999999")
    assert errors["store"] == [m.replace("999999", str(world.outra_store.pk)) for m in missing["store"]]


def test_repeated_values_collapse(world):
    access = access_of(world.m_alice)
    filters, errors = filters_for(access, status=["paid"] * 50)
    assert errors == {} and filters.states == ("paid",)


# --- search ----------------------------------------------------------------------------------


def test_search_finds_each_kind_of_id(world):
    target = make_txn(
        world,
        transaction_id="s2SIBSid0001",
        merchant_transaction_id="ORDER-77",
        internal_transaction_id="int-555",
        secondary_transaction_id="s2second0001",
        mbway_alias_masked="351#*****6789",
        mbway_alias_last_digits="6789",
        amount=Decimal("123.45"),
    )
    reference = make_txn(
        world, payment_method="REFERENCE", reference_entity="40200", reference_number="256309828", amount=Decimal("7")
    )
    make_txn(world, amount=Decimal("5.00"))
    access = access_of(world.m_alice)

    def found(q):
        filters, errors = filters_for(access, q=q)
        assert errors == {}
        return ids(listing.transaction_page(access=access, filters=filters).rows)

    for q in ("s2SIBSid0001", "ORDER-77", "int-555", "s2second0001", "6789", "123.45", "123,45", " 123,45 € "):
        assert found(q) == [target.transaction_id], q
    assert found("256 309 828") == [reference.transaction_id]
    assert found("40200256309828") == [reference.transaction_id]
    assert found("40201256309828") == []
    assert found("nothing-like-this") == []


def test_search_combines_with_filters_and_pages(world):
    same_amount = [make_txn(world, amount=Decimal("16.20"), minutes_ago=i) for i in range(5)]
    make_txn(world, amount=Decimal("16.20"), terminal=world.t_porto)
    make_txn(world, amount=Decimal("16.21"))
    access = access_of(world.m_alice)
    filters, _ = filters_for(access, q="16.20", store=str(world.lisboa.pk))
    pages = all_pages(access, filters, size=2)
    assert [tid for page in pages for tid in page] == ids(same_amount)


# --- store limits ----------------------------------------------------------------------------


def test_a_store_limited_person_sees_only_their_stores_everywhere(world):
    lisboa = make_txn(world, amount=Decimal("16.20"))
    porto = make_txn(world, terminal=world.t_porto, amount=Decimal("16.20"))
    paula = access_of(world.m_paula)
    filters, _ = filters_for(paula)
    assert ids(listing.transaction_page(access=paula, filters=filters).rows) == [porto.transaction_id]
    searched, _ = filters_for(paula, q=lisboa.transaction_id)
    assert listing.transaction_page(access=paula, filters=searched).rows == []
    counts = {c.key: c.count for c in listing.tab_counts(access=paula, filters=filters)}
    assert counts["all"] == 1 and counts["success"] == 1
    _f, errors = filters_for(paula, store=str(world.lisboa.pk))
    assert "store" in errors
    batch = listing.live_changes(access=paula, filters=filters, token=listing.live_token(NOW - timedelta(hours=1)))
    assert [t.pk for t in batch.rows] == [porto.pk]


# --- tabs ------------------------------------------------------------------------------------


def test_tab_counts_follow_the_filters_and_stop_at_the_cap(world):
    for _ in range(4):
        make_txn(world)
    make_txn(world, state="refunded")
    make_txn(world, state="partially_refunded")
    make_txn(world, state="pending", payment_method="CARD")
    access = access_of(world.m_alice)
    filters, _ = filters_for(access)
    counts = {c.key: (c.count, c.capped) for c in listing.tab_counts(access=access, filters=filters, cap=3)}
    assert counts["all"] == (3, True)
    assert counts["success"] == (3, True)
    assert counts["refunded"] == (2, False)
    assert counts["pending"] == (1, False)
    assert counts["to_capture"] == (0, False)
    card, _ = filters_for(access, method="CARD", tab="success")
    counts = {c.key: c.count for c in listing.tab_counts(access=access, filters=card)}
    assert counts == {"all": 1, "success": 0, "pending": 1, "declined": 0, "refunded": 0, "to_capture": 0}


# --- live ------------------------------------------------------------------------------------


def test_live_changes_return_written_rows_once_the_window_passes(world):
    access = access_of(world.m_alice)
    filters, _ = filters_for(access, method="MBWAY")
    token = listing.live_start_token()
    assert listing.live_changes(access=access, filters=filters, token=token).rows == []
    mbway = make_txn(world)
    card = make_txn(world, payment_method="CARD")
    batch = listing.live_changes(access=access, filters=filters, token=token)
    assert {t.pk for t in batch.rows} == {mbway.pk, card.pk}
    assert batch.matching_pks == {mbway.pk}
    # a state change (saved with update_fields, as the ledger does) is a change too
    card.state = "refunded"
    card.save(update_fields=["state"])
    card.refresh_from_db()
    assert card.changed_at > mbway.changed_at


def test_live_batches_are_bounded_and_resume(world):
    access = access_of(world.m_alice)
    filters, _ = filters_for(access)
    token = listing.live_start_token()
    made = [make_txn(world) for _ in range(5)]
    first = listing.live_changes(access=access, filters=filters, token=token, limit=3)
    assert first.more and len(first.rows) == 3
    second = listing.live_changes(access=access, filters=filters, token=first.token, limit=3)
    assert {t.pk for t in first.rows + second.rows} == {t.pk for t in made}


@pytest.mark.parametrize(
    "token",
    ["", "123", "123.abc", "x" * 200, pytest.param(listing.live_token(NOW) + "0", id="signature-tampered")],
)
def test_a_forged_live_token_is_refused(token):
    with pytest.raises(InvalidCursor):
        listing.live_since(token)


def test_the_ledger_fills_the_phone_digits(world, eager_celery_and_fresh_keyring):
    payload = notification(token={"tokenType": "MobilePhone", "value": "351#912345678"})
    deliver(world.loja, payload)
    txn = Transaction.objects.get(transaction_id=payload["transactionID"])
    assert txn.mbway_alias_last_digits == "5678"
    access = access_of(world.m_alice)
    filters, _ = filters_for(access, q="5678")
    assert ids(listing.transaction_page(access=access, filters=filters).rows) == [txn.transaction_id]


# --- the page --------------------------------------------------------------------------------


def url(name="payments:transactions", **kwargs):
    return reverse(name, kwargs={"merchant": "loja", **kwargs})


def test_the_page_lists_rows_with_money_time_and_state(world, login):
    make_txn(world, amount=Decimal("1234.56"), transaction_id="s2pagerow01")
    client = login(world.fiona)
    html = client.get(url()).content.decode()
    assert "s2pagerow01" in html
    assert "€1,234.56" in html
    assert "WET" in html or "WEST" in html
    assert 'class="badge state ok"' in html and "Paid" in html
    client.post("/i18n/setlang/", {"language": "pt", "next": url()})
    html = client.get(url(), HTTP_ACCEPT_LANGUAGE="pt").content.decode()
    assert "1\u202f234,56\u00a0€" in html


def test_the_page_answers_htmx_with_the_results_only(world, login):
    make_txn(world, transaction_id="s2htmx0001")
    client = login(world.victor)
    response = client.get(url(), {"q": "s2htmx0001"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="txn-results")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="txn-results"') and "<html" not in html
    assert "s2htmx0001" in html and 'hx-swap-oob="true"' in html


@pytest.mark.parametrize(
    "query",
    [
        "cursor=tampered",
        "cursor=" + "A" * 5000,
        "from=2026-02-30",
        "amount_min=-1&amount_max=abc",
        "store=1&store=2&store=%00",
        "q=%3Cscript%3Ealert(1)%3C/script%3E",
        "status=paid&status=paid&status=nope",
        "tab=../../etc/passwd",
        "q=" + "9" * 101,
    ],
)
def test_hostile_queries_get_a_page_with_an_explanation_never_a_500(world, login, query):
    make_txn(world)
    client = login(world.alice)
    response = client.get(f"{url()}?{query}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert 'data-testid="notice"' in html or 'data-testid="filter-errors"' in html or "&lt;script&gt;" in html


def test_a_tampered_cursor_shows_the_first_page_with_a_message(world, login):
    first = make_txn(world)
    client = login(world.alice)
    html = client.get(url(), {"cursor": "not-a-cursor"}).content.decode()
    assert "That page link is not valid" in html and first.transaction_id in html


def test_counts_fragment(world, login):
    make_txn(world)
    make_txn(world, terminal=world.t_porto, state="declined")
    html = login(world.paula).get(url("payments:transactions_counts")).content.decode()
    assert 'data-tab="all"' in html and 'data-count="1"' in html
    assert 'data-count="2"' not in html


def test_live_endpoint_sends_new_rows_rendered_and_respects_store_limits(world, login):
    client = login(world.paula)
    html = client.get(url()).content.decode()
    token = html.split('data-live-since="')[1].split('"')[0]
    make_txn(world, transaction_id="s2live-lisboa")
    porto = make_txn(world, terminal=world.t_porto, transaction_id="s2live-porto")
    body = client.get(url("payments:transactions_live"), {"since": token}).json()
    assert [row["pk"] for row in body["rows"]] == [porto.pk]
    assert body["rows"][0]["match"] is True
    assert "s2live-porto" in body["rows"][0]["html"] and "s2live-lisboa" not in json.dumps(body)
    assert client.get(url("payments:transactions_live"), {"since": "forged"}).status_code == 400


def test_the_live_endpoint_of_another_merchant_does_not_exist(world, login):
    client = login(world.mallory)
    response = client.get(url("payments:transactions_live"), {"since": listing.live_start_token()})
    assert response.status_code == 404


# --- saved views -----------------------------------------------------------------------------


def test_saving_renaming_and_deleting_a_view(world, login):
    client = login(world.bob)
    response = client.post(
        url("payments:saved_view_create"),
        {"name": "  MB WAY   today ", "query": "period=today&method=MBWAY&cursor=abc&junk=1&amount_min=-3"},
    )
    view = SavedView.objects.get()
    assert view.name == "MB WAY today" and view.query == "period=today&method=MBWAY" and not view.shared
    assert response["Location"].endswith("?period=today&method=MBWAY")
    client.post(url("payments:saved_view_rename", pk=view.pk), {"name": "Mornings"})
    view.refresh_from_db()
    assert view.name == "Mornings"
    client.post(url("payments:saved_view_delete", pk=view.pk))
    assert not SavedView.objects.exists()
    actions = list(AuditEvent.objects.filter(action__startswith="saved_view.").values_list("action", flat=True))
    assert sorted(actions) == ["saved_view.created", "saved_view.deleted", "saved_view.renamed"]


@pytest.mark.parametrize("name", ["", "   ", "x" * 61, "bad\x00name", "tab\x1bname"])
def test_hostile_view_names_are_refused(world, login, name):
    client = login(world.bob)
    response = client.post(url("payments:saved_view_create"), {"name": name, "query": "method=CARD"}, follow=True)
    assert response.status_code == 200
    assert not SavedView.objects.exists()
    assert 'class="msg error"' in response.content.decode()


def test_markup_in_a_view_name_is_shown_as_text(world, login):
    client = login(world.bob)
    client.post(url("payments:saved_view_create"), {"name": "<img src=x onerror=alert(1)>", "query": ""})
    html = client.get(url()).content.decode()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_names_are_unique_per_person_whatever_the_case(world, login):
    bob = login(world.bob)
    bob.post(url("payments:saved_view_create"), {"name": "Refunds", "query": "tab=refunded"})
    response = bob.post(url("payments:saved_view_create"), {"name": "REFUNDS", "query": "tab=refunded"}, follow=True)
    assert "You already have a view with this name." in response.content.decode()
    assert SavedView.objects.count() == 1
    other = SavedView.objects.create(merchant=world.loja, owner=world.bob, name="Other")
    renamed = bob.post(url("payments:saved_view_rename", pk=other.pk), {"name": "refunds"}, follow=True)
    assert "You already have a view with this name." in renamed.content.decode()
    # someone else may use the same name
    saved_view_services.saved_view_create(
        access=access_of(world.m_fiona), actor=Actor(user=world.fiona), name="Refunds", query="", shared=False
    )
    assert SavedView.objects.filter(name__iexact="refunds").count() == 2


def test_private_views_stay_private_and_shared_ones_are_seen_by_the_team(world, login):
    alice = access_of(world.m_alice)
    private = saved_view_services.saved_view_create(
        access=alice, actor=Actor(user=world.alice), name="Mine", query="", shared=False
    )
    shared = saved_view_services.saved_view_create(
        access=alice, actor=Actor(user=world.alice), name="Team", query="method=CARD", shared=True
    )
    seen_by_bob = list(saved_views.saved_view_list(access=access_of(world.m_bob)))
    assert seen_by_bob == [shared]
    assert list(saved_views.saved_view_list(access=access_of(world.m_mallory))) == []
    bob = login(world.bob)
    assert bob.post(url("payments:saved_view_delete", pk=private.pk)).status_code == 404
    html = bob.get(url()).content.decode()
    assert "Team" in html and ">Mine<" not in html


def test_only_the_owner_or_a_team_manager_may_change_a_shared_view(world, login):
    shared = saved_view_services.saved_view_create(
        access=access_of(world.m_bob), actor=Actor(user=world.bob), name="Bob's", query="", shared=True
    )
    fiona = login(world.fiona)
    fiona.post(url("payments:saved_view_delete", pk=shared.pk))
    fiona.post(url("payments:saved_view_rename", pk=shared.pk), {"name": "Fiona's now"})
    shared.refresh_from_db()
    assert shared.name == "Bob's"
    adam = login(world.adam)
    adam.post(url("payments:saved_view_delete", pk=shared.pk))
    assert not SavedView.objects.filter(pk=shared.pk).exists()


def test_another_merchants_people_cannot_touch_a_view(world, login):
    view = saved_view_services.saved_view_create(
        access=access_of(world.m_alice), actor=Actor(user=world.alice), name="Team", query="", shared=True
    )
    mallory = login(world.mallory)
    assert mallory.post(url("payments:saved_view_delete", pk=view.pk)).status_code == 404
    assert (
        mallory.post(reverse("payments:saved_view_delete", kwargs={"merchant": "outra", "pk": view.pk})).status_code
        == 404
    )
    assert SavedView.objects.filter(pk=view.pk).exists()


def test_saved_view_endpoints_refuse_get(world, login):
    client = login(world.bob)
    assert client.get(url("payments:saved_view_create")).status_code == 405


def test_tabs_are_links_that_keep_the_filters(world, login):
    html = login(world.alice).get(url(), {"method": "CARD"}).content.decode()
    assert f'href="{url()}?method=CARD&amp;tab=refunded"' in html
    assert Tab.REFUNDED.value in html


# --- review additions: live matching in Python, the poll's cost, multi-choice filters ---------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"method": "CARD"},
        {"method": ["CARD", "REFERENCE"], "status": ["paid", "awaiting_payment"]},
        {"type": "AUTH"},
        {"tab": "pending"},
        {"tab": "refunded", "method": "MBWAY"},
        {"amount_min": "10", "amount_max": "16,20"},
        {"amount_min": "16.21"},
        {"currency": "usd"},
        {"period": "today"},
        {"from": "2000-01-01", "to": "2000-01-02"},
        {"q": "16.20"},
        {"q": "1234"},
        {"q": "40200 256 309 828"},
        {"q": "256309828"},
        {"q": "order-ref"},
        {"q": "s2match-card"},
        {"q": "nothing-like-it"},
    ],
)
def test_live_matching_on_loaded_rows_agrees_with_the_database(world, params):
    rows = [
        make_txn(world, amount=Decimal("16.20"), mbway_alias_last_digits="1234", transaction_id="s2match-mbway"),
        make_txn(
            world, terminal=world.t_porto, payment_method="CARD", payment_type="AUTH", transaction_id="s2match-card"
        ),
        make_txn(
            world,
            payment_method="REFERENCE",
            state="awaiting_payment",
            amount=Decimal("9.99"),
            reference_entity="40200",
            reference_number="256309828",
            merchant_transaction_id="order-ref",
        ),
        make_txn(world, state="partially_refunded", amount=None, currency="USD"),
        make_txn(world, state="pending", minutes_ago=60 * 24 * 40),
    ]
    access = access_of(world.m_alice)
    filters, errors = filters_for(access, **params)
    assert errors == {}
    in_db = set(listing.matching(Transaction.objects.filter(merchant=world.loja), filters).values_list("pk", flat=True))
    assert {t.pk for t in rows if filters.matches(t)} == in_db
    batch = listing.live_changes(access=access, filters=filters, token=listing.live_token(NOW - timedelta(days=60)))
    assert batch.matching_pks == in_db


def test_a_live_poll_is_one_transaction_query_whatever_the_filters(world, login):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(world.alice)
    token = listing.live_start_token(NOW - timedelta(minutes=1))
    for _ in range(3):
        make_txn(world)
    client.get(url("payments:transactions_live"), {"since": token})  # the session is written once
    counts = []
    for query in ({}, {"status": ["paid", "refunded"], "method": "MBWAY", "q": "10.00", "amount_min": "1"}):
        with CaptureQueriesContext(connection) as ctx:
            body = client.get(url("payments:transactions_live"), {"since": token, **query}).json()
        assert len(body["rows"]) == 3 and all(row["match"] for row in body["rows"])
        sql = [q["sql"] for q in ctx.captured_queries]
        assert sum('FROM "payments_transaction"' in s for s in sql) == 1, sql
        # no store or terminal menus to fill, and no session write
        assert not any('FROM "backoffice_terminal"' in s for s in sql), sql
        assert not any(s.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")) for s in sql), sql
        counts.append(len(sql))
    assert counts[0] == counts[1]


def test_polls_never_keep_an_idle_session_alive(world, login, settings):
    """A list left open polls every 1.5 s; that is not the person doing anything, so the idle
    timeout still ends the session, and the next poll is treated as signed out."""
    import time_machine
    from django.contrib.sessions.models import Session

    client = login(world.alice)
    token = listing.live_start_token()
    client.get(url())  # a page the person opens writes the session
    key = client.session.session_key
    written = Session.objects.get(session_key=key).expire_date
    start = timezone.now()
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        assert client.get(url("payments:transactions_live"), {"since": token}).status_code == 200
    assert Session.objects.get(session_key=key).expire_date == written
    with time_machine.travel(start + timedelta(seconds=settings.SESSION_IDLE_TIMEOUT + 1), tick=False):
        response = client.get(url("payments:transactions_live"), {"since": token})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_fragment_asked_for_after_sign_out_reloads_the_page(client, world):
    response = client.get(url("payments:transactions_live"), headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    # without htmx, the usual redirect to the sign-in
    response = client.get(url("payments:transactions_live"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_page_people_use_keeps_the_session_alive(world, login):
    import time_machine
    from django.contrib.sessions.models import Session

    client = login(world.alice)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.get(url())
    key = client.session.session_key
    before = Session.objects.get(session_key=key).expire_date
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        client.get(url())
    assert Session.objects.get(session_key=key).expire_date > before


def test_a_poll_naming_another_stores_id_is_not_applied(world, login):
    client = login(world.paula)
    token = listing.live_start_token(NOW - timedelta(minutes=1))
    lisboa = make_txn(world, transaction_id="s2poll-lisboa")
    porto = make_txn(world, terminal=world.t_porto, transaction_id="s2poll-porto")
    body = client.get(
        url("payments:transactions_live"), {"since": token, "store": [str(world.lisboa.pk), "x" * 50]}
    ).json()
    assert [row["pk"] for row in body["rows"]] == [porto.pk]
    assert lisboa.transaction_id not in json.dumps(body)


def test_several_statuses_and_methods_are_checkboxes_ticked_from_the_address(world, login):
    make_txn(world, transaction_id="s2multi-paid")
    make_txn(world, state="refunded", transaction_id="s2multi-refunded")
    make_txn(world, state="pending", transaction_id="s2multi-pending")
    client = login(world.alice)
    html = client.get(url() + "?status=paid&status=refunded&status=paid", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="status" value="paid" checked' in html and 'name="status" value="refunded" checked' in html
    assert 'name="status" value="pending" checked' not in html
    assert "<span data-multi-summary>Paid +1</span>" in html
    assert "s2multi-paid" in html and "s2multi-refunded" in html and "s2multi-pending" not in html
    # the menus offer every choice, stores included for a merchant with several
    assert 'name="method" value="CARD"' in html and f'name="store" value="{world.porto.pk}"' in html
    # a store-limited person's menus hold only their stores and terminals
    html = login(world.paula).get(url()).content.decode()
    assert 'name="store"' not in html  # one store: nothing to choose
    assert 'name="terminal" value="22222"' in html and 'value="11111"' not in html


def test_the_results_carry_the_counts_address_for_live_refreshes(world, login):
    html = login(world.alice).get(url() + "?method=CARD&tab=pending").content.decode()
    counts = html.split('data-counts-url="')[1].split('"')[0].replace("&amp;", "&")
    assert counts == url("payments:transactions_counts") + "?method=CARD&tab=pending"


def test_the_page_costs_the_same_queries_for_3_rows_as_for_30(world, login):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(world.fiona)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url()).status_code == 200
        return len(ctx.captured_queries)

    for _ in range(3):
        make_txn(world, terminal=world.t_porto)
    queries()  # the first request also writes the session and the last merchant used
    few = queries()
    for _ in range(27):
        make_txn(world)
    assert queries() == few


@pytest.mark.parametrize(
    "transaction_id", ["s2plain01", "s2 with space", "s2%percent", "s2ção€", "s2!$&'()*+,;=~:@", "s2?q#frag"]
)
def test_row_links_are_what_reverse_gives(world, transaction_id):
    from payments.views.list import _detail_prefix, _detail_url

    access = access_of(world.m_alice)
    txn = make_txn(world, transaction_id=transaction_id)
    expected = reverse("payments:transaction", kwargs={"merchant": "loja", "transaction_id": transaction_id})
    assert _detail_url(_detail_prefix(access), txn) == expected


def test_a_row_whose_id_no_url_can_carry_is_listed_without_a_link(world, login):
    make_txn(world, transaction_id="odd/id")
    client = login(world.fiona)
    response = client.get(url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "odd/id" in html and "/transactions/odd" not in html


def test_filtered_lists_show_count_and_net_sum_per_currency_with_refunds_negative(world, login):
    from payments.selectors.totals import list_totals

    make_txn(world, amount=Decimal("100.00"))
    make_txn(world, amount=Decimal("30.50"), payment_type="RFND", state="succeeded")
    make_txn(world, amount=Decimal("7.00"), currency="USD")
    make_txn(world, amount=Decimal("999.00"), terminal=world.t_porto)
    access = access_of(world.m_alice)
    filters, _errors, _form = listing.parse_filters(QueryDict(f"store={world.lisboa.pk}"), access=access)
    totals = list_totals(access=access, filters=filters)
    assert totals.count == 3
    assert dict(totals.by_currency) == {"EUR": Decimal("69.50"), "USD": Decimal("7.00")}
    assert list_totals(access=access, filters=filters, cap=2) is None  # too many to sum: not attempted

    client = login(world.alice)
    body = client.get(
        "/m/loja/transactions-counts/", {"store": world.lisboa.pk}, HTTP_ACCEPT_LANGUAGE="pt"
    ).content.decode()
    assert "3 transações" in body and "69,50\u00a0€" in body and "7,00\u00a0US$" in body
    assert "list-totals" not in client.get("/m/loja/transactions-counts/").content.decode()  # unfiltered


def test_a_refund_row_reads_as_money_going_out(world, login):
    make_txn(world, transaction_id="s2refundrow000000001", amount=Decimal("10.50"), payment_type="RFND")
    body = login(world.alice).get("/m/loja/transactions/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "-€10.50" in body and 'data-testid="kind">Refund<' in body
