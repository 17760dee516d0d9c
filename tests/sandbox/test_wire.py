"""The sandbox's JSON and money primitives."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sandbox import magic, wire


def test_dumps_writes_decimals_as_exact_numbers():
    text = wire.dumps({"a": Decimal("5.50"), "b": [Decimal("20"), Decimal("0.01")], "c": "5.50", "d": 1})

    assert text == '{"a":5.50,"b":[20,0.01],"c":"5.50","d":1}'


def test_dumps_cannot_be_tricked_into_numbers_by_strings():
    hostile = "\x00deadbeef:99\x00"

    text = wire.dumps({"x": hostile, "y": "é"})

    assert json.loads(text) == {"x": hostile, "y": "é"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("5.5"), Decimal("5.50")),
        (10, Decimal("10.00")),
        ("16.20", Decimal("16.20")),
        (15.9, Decimal("15.90")),
        (Decimal("999999.99"), Decimal("999999.99")),
    ],
)
def test_parse_money_accepts(value, expected):
    assert wire.parse_money(value) == expected


@pytest.mark.parametrize(
    "value", [None, True, "abc", "1e5", Decimal("-0.01"), Decimal("0"), Decimal("1.001"), Decimal("NaN"), [1], 10**7]
)
def test_parse_money_refuses(value):
    with pytest.raises(wire.AmountError):
        wire.parse_money(value)


def test_ids_look_like_sibs_ones():
    assert len(wire.new_transaction_id()) == 20 and wire.new_transaction_id().startswith("s2")
    internal = wire.new_internal_transaction_id()
    assert len(internal) == 16 and internal[0] == internal[-1] == "S" and internal[1:-1].isdigit()
    reference = wire.new_reference()
    assert len(reference) == 9 and reference.isdigit() and reference[0] != "0"


def test_dates():
    moment = datetime(2026, 3, 12, 10, 48, 44, 127000, tzinfo=UTC)

    assert wire.iso_millis(moment) == "2026-03-12T10:48:44.127Z"
    assert wire.iso_seconds(moment) == "2026-03-12T10:48:44Z"
    assert wire.parse_iso("2022-09-28T17:37:31.4095147+00:00").year == 2022
    assert wire.parse_iso("2026-03-12T10:48:44") == datetime(2026, 3, 12, 10, 48, 44, tzinfo=UTC)
    assert wire.parse_iso("not a date") is None


def test_money_shortest():
    assert str(wire.money_shortest(Decimal("15.90"))) == "15.9"
    assert str(wire.money_shortest(Decimal("20.00"))) == "20"
    assert str(wire.money_shortest(Decimal("1.96"))) == "1.96"


def test_test_cards_pass_luhn_and_a_typo_does_not():
    for pan in (magic.CARD_OK, magic.CARD_OK_MASTERCARD, magic.CARD_DECLINED, magic.CARD_EXPIRED, magic.CARD_3DS):
        assert magic.luhn_ok(pan)
    assert not magic.luhn_ok("4000000000000001")
    assert magic.mask_pan("4000000000000002") == "400000******0002"
