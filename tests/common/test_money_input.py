"""One reading of typed amounts for every form, and one way to pre-fill them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from common.forms import MoneyField
from common.money import MoneyInputError, money_input, parse_money


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("84,51", "84.51"),
        ("84.51", "84.51"),
        ("1.234,56", "1234.56"),
        ("1 234,56", "1234.56"),
        ("1\u202f234,56\u00a0€", "1234.56"),
        ("1,234.56", "1234.56"),
        ("€ 30,50", "30.50"),
        ("30,50 €", "30.50"),
        ("20,00", "20.00"),
        ("1.234", "1234.00"),
        ("12.345.678,9", "12345678.90"),
        ("7", "7.00"),
    ],
)
def test_amounts_typed_either_way_are_read(text, expected):
    assert parse_money(text, "EUR") == Decimal(expected)


@pytest.mark.parametrize("text", ["abc", "1,2,3", "1.23.4", "1e5", "12€34", "--5", ",5", "5,", "NaN", "1.2345,6"])
def test_what_is_not_an_amount_is_refused(text):
    with pytest.raises(MoneyInputError) as error:
        parse_money(text, "EUR")
    assert error.value.code == "not_a_number"


def test_decimals_follow_the_currency():
    with pytest.raises(MoneyInputError) as error:
        parse_money("0,001", "EUR")
    assert error.value.code == "too_many_decimals" and error.value.places == 2
    assert parse_money("1.234", "BHD") == Decimal("1.234")  # three decimals there, not a thousand
    assert parse_money("1.234", "JPY") == Decimal("1234")


def test_machines_never_get_the_thousands_reading():
    with pytest.raises(MoneyInputError):
        parse_money("1.234", "EUR", typed=False)
    with pytest.raises(MoneyInputError):
        parse_money("1.234.567", "EUR", typed=False)
    assert parse_money("12.50", "EUR", typed=False) == Decimal("12.50")


def test_prefill_is_in_the_language_of_the_page():
    assert money_input(Decimal("84.51"), "EUR", "pt") == "84,51"
    assert money_input(Decimal("84.51"), "EUR", "en") == "84.51"
    assert money_input(None) == ""


def test_money_field_takes_portuguese_input_and_shows_it_back():
    field = MoneyField(required=False)
    assert field.clean("20,00") == Decimal("20.00")
    assert field.clean("") is None
    with pytest.raises(Exception, match="decimals"):
        field.clean("1,234")
    with pytest.raises(Exception, match="negative"):
        field.clean("-3")
    with translation.override("pt"):
        assert field.prepare_value(Decimal("20")) == "20,00"
