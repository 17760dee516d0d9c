"""{% load payments %}: money in the active language, state badges with text, Lisbon times."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from payments.models import TransactionState
from payments.templatetags.payments import (
    STATE_TONES,
    format_money,
    lisbon,
    lisbon_iso,
    payment_method_label,
    payment_type_label,
    state_badge_tag,
)

NNBSP = "\u202f"
NBSP = "\u00a0"


def render(source: str, **context) -> str:
    return Template("{% load payments %}" + source).render(Context(context))


# --- money ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "pt", "en"),
    [
        (Decimal("1234.56"), "EUR", f"1{NNBSP}234,56{NBSP}€", "€1,234.56"),
        (Decimal("0"), "EUR", f"0,00{NBSP}€", "€0.00"),
        (Decimal("16.2"), "EUR", f"16,20{NBSP}€", "€16.20"),
        (Decimal("999"), "EUR", f"999,00{NBSP}€", "€999.00"),
        (Decimal("1000"), "EUR", f"1{NNBSP}000,00{NBSP}€", "€1,000.00"),
        (Decimal("1234567.891"), "EUR", f"1{NNBSP}234{NNBSP}567,89{NBSP}€", "€1,234,567.89"),
        (Decimal("-5"), "EUR", f"-5,00{NBSP}€", "-€5.00"),
        (Decimal("0.005"), "EUR", f"0,01{NBSP}€", "€0.01"),  # half up, never banker's
        (Decimal("1234.5"), "KWD", f"1{NNBSP}234,500{NBSP}KWD", f"KWD{NBSP}1,234.500"),
        (Decimal("1234"), "JPY", f"1{NNBSP}234{NBSP}¥", "¥1,234"),
        (Decimal("10"), "usd", f"10,00{NBSP}US$", "$10.00"),
        ("12.5", "EUR", f"12,50{NBSP}€", "€12.50"),
        (7, "EUR", f"7,00{NBSP}€", "€7.00"),
        (Decimal("10"), "", "10,00", "10.00"),
    ],
)
def test_money_follows_the_active_language(value, currency, pt, en):
    with translation.override("pt"):
        assert format_money(value, currency) == pt
        assert render("{{ v|money:c }}", v=value, c=currency) == pt
    with translation.override("en"):
        assert format_money(value, currency) == en
        assert render("{{ v|money:c }}", v=value, c=currency) == en


@pytest.mark.parametrize("value", [None, "", "abc", "NaN", "Infinity", True, [1], {"a": 1}, Decimal("1e40")])
def test_money_of_nothing_or_garbage_is_a_dash(value):
    for language in ("pt", "en"):
        with translation.override(language):
            assert format_money(value, "EUR") == "—"


def test_money_without_currency_argument_defaults_to_euro():
    with translation.override("pt"):
        assert render("{{ v|money }}", v=Decimal("1.5")) == f"1,50{NBSP}€"


def test_money_regional_language_codes_use_their_base_language():
    with translation.override("pt-pt"):
        assert format_money(Decimal("1234.56"), "EUR") == f"1{NNBSP}234,56{NBSP}€"
    assert format_money(Decimal("1234.56"), "EUR", language="en-GB") == "€1,234.56"


def test_money_output_is_escaped_in_templates():
    with translation.override("en"):
        out = render("{{ v|money:c }}", v=Decimal("1"), c="<b>")
    assert "<b>" not in out


# --- state badge ------------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(TransactionState))
def test_every_state_has_a_tone_and_its_text(state):
    html = str(state_badge_tag(type("T", (), {"state": state.value})()))
    assert STATE_TONES[state] in ("ok", "warn", "bad", "info")
    assert f'class="badge state {STATE_TONES[state]}"' in html
    assert f'data-state="{state.value}"' in html
    assert f">{state.label}<" in html


def test_badge_tones_mean_what_they_say():
    assert STATE_TONES[TransactionState.PAID] == "ok"
    assert STATE_TONES[TransactionState.DECLINED] == "bad"
    assert STATE_TONES[TransactionState.PENDING] == "warn"


def test_state_badge_tag_and_filter_render_the_same_translated_text():
    txn = type("T", (), {"state": "paid"})()
    with translation.override("en"):
        assert render("{% state_badge t %}", t=txn) == render("{{ t|state_badge }}", t=txn)
        assert ">Paid<" in render("{% state_badge t %}", t=txn)
    with translation.override("pt"):
        assert ">Paga<" in render("{% state_badge t %}", t=txn)


def test_state_badge_accepts_a_plain_state_and_escapes_unknown_ones():
    assert ">Refunded<" in render("{% state_badge s %}", s="refunded")
    html = render("{% state_badge s %}", s='<script>x</script>"')
    assert "<script>" not in html
    assert "badge state warn" in html
    assert "Unknown" in render("{% state_badge s %}", s="")


# --- Lisbon times -----------------------------------------------------------------------------


def test_lisbon_shows_winter_and_summer_zones():
    winter = dt.datetime(2026, 11, 22, 14, 3, 12, tzinfo=dt.UTC)
    summer = dt.datetime(2026, 7, 22, 14, 3, 12, tzinfo=dt.UTC)
    assert lisbon(winter) == "22/11/2026 14:03:12 WET"
    assert lisbon(summer) == "22/07/2026 15:03:12 WEST"
    assert render("{{ d|lisbon }}", d=summer) == "22/07/2026 15:03:12 WEST"


def test_lisbon_converts_from_any_zone_and_treats_naive_as_utc():
    tokyo = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    assert lisbon(tokyo) == "01/01/2026 00:00:00 WET"
    assert lisbon(dt.datetime(2026, 1, 1, 0, 0)) == "01/01/2026 00:00:00 WET"


def test_lisbon_across_the_spring_change():
    # 2026-03-29 01:00 UTC: clocks go from 01:00 WET to 02:00 WEST.
    before = dt.datetime(2026, 3, 29, 0, 59, 59, tzinfo=dt.UTC)
    after = dt.datetime(2026, 3, 29, 1, 0, 0, tzinfo=dt.UTC)
    assert lisbon(before) == "29/03/2026 00:59:59 WET"
    assert lisbon(after) == "29/03/2026 02:00:00 WEST"


def test_lisbon_of_a_date_none_or_garbage():
    assert lisbon(dt.date(2027, 2, 3)) == "03/02/2027"
    assert lisbon(None) == "—"
    assert lisbon("") == "—"
    assert lisbon("yesterday") == "—"
    assert lisbon_iso(None) == ""
    assert lisbon_iso(dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC)) == "2026-07-01T13:00:00+01:00"


# --- enum labels ------------------------------------------------------------------------------


def test_type_and_method_labels_translate_known_codes_and_keep_unknown_ones():
    with translation.override("en"):
        assert payment_type_label("RFND") == "Refund"
        assert payment_method_label("MBWAY") == "MB WAY"
    assert payment_type_label("ZZZZ") == "ZZZZ"
    assert payment_method_label("") == ""
    assert payment_type_label(None) == ""
