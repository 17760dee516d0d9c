import pytest
from django.conf import settings

from payments.sibs import (
    MandateType,
    PaymentMethod,
    PaymentStatus,
    PaymentType,
    ReferenceStatus,
    TokenType,
    coerce,
    parse_payment_method,
    parse_payment_status,
    parse_payment_type,
    status_precedence,
    status_supersedes,
)

needs_settings = pytest.mark.skipif(not settings.configured, reason="evaluating lazy labels needs Django settings")


def test_wire_values_are_exactly_what_sibs_sends():
    assert PaymentStatus.values == [
        "Success",
        "Pending",
        "InProcessing",
        "Partial",
        "Declined",
        "Timeout",
        "Error",
        "Expired",
    ]
    assert PaymentType.values == [
        "PURS",
        "AUTH",
        "CAPT",
        "RFND",
        "CAUT",
        "PREF",
        "MITR",
        "CSHT",
        "CMBW",
        "CPRF",
        "RVSL",
    ]
    assert PaymentMethod.values == [
        "CARD",
        "MBWAY",
        "REFERENCE",
        "TOKEN",
        "STATIC_QRCODE",
        "MANDATE",
        "XPAY",
        "QRCODE",
    ]
    assert TokenType.values == ["MobilePhone", "Card"]
    assert ReferenceStatus.values == ["PAID", "UNPAID"]


def test_choices_fit_a_short_char_field():
    for enum_cls in (PaymentStatus, PaymentType, PaymentMethod, TokenType, ReferenceStatus, MandateType):
        assert len(enum_cls.choices) == len(enum_cls.values)
        assert max(len(value) for value in enum_cls.values) <= 16


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Success", PaymentStatus.SUCCESS),
        (" Success ", PaymentStatus.SUCCESS),
        ("SUCCESS", PaymentStatus.SUCCESS),
        ("PENDING", PaymentStatus.PENDING),
        ("IN PROCESSING", PaymentStatus.IN_PROCESSING),
        ("in_processing", PaymentStatus.IN_PROCESSING),
        ("Cancelled", "Cancelled"),
        (" Processing ", "Processing"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_parse_payment_status(raw, expected):
    result = parse_payment_status(raw)
    assert result == expected
    assert type(result) is type(expected)


def test_other_parsers():
    assert parse_payment_type("RFND") is PaymentType.REFUND
    assert parse_payment_type("rfnd") is PaymentType.REFUND
    assert parse_payment_type("XXXX") == "XXXX"
    assert parse_payment_method("static_qrcode") is PaymentMethod.STATIC_QRCODE
    assert parse_payment_method("STATIC QRCODE") is PaymentMethod.STATIC_QRCODE
    assert parse_payment_method("QRCODE") is PaymentMethod.QRCODE
    assert parse_payment_method("BLIK") == "BLIK"
    assert coerce(TokenType, "mobilephone") is TokenType.MOBILE_PHONE


def test_coerce_refuses_non_strings():
    with pytest.raises(TypeError):
        coerce(PaymentStatus, 1)  # type: ignore[arg-type]


def test_final_statuses():
    final = {status for status in PaymentStatus if status.is_final}
    assert final == {
        PaymentStatus.SUCCESS,
        PaymentStatus.DECLINED,
        PaymentStatus.TIMEOUT,
        PaymentStatus.ERROR,
        PaymentStatus.EXPIRED,
    }


@pytest.mark.parametrize(
    ("current", "incoming", "replaces"),
    [
        (None, PaymentStatus.PENDING, True),
        (PaymentStatus.PENDING, PaymentStatus.SUCCESS, True),
        (PaymentStatus.PENDING, PaymentStatus.PARTIAL, True),
        (PaymentStatus.PARTIAL, PaymentStatus.IN_PROCESSING, True),
        (PaymentStatus.IN_PROCESSING, PaymentStatus.DECLINED, True),
        # a late Pending never overwrites a final status
        (PaymentStatus.SUCCESS, PaymentStatus.PENDING, False),
        (PaymentStatus.DECLINED, PaymentStatus.PENDING, False),
        (PaymentStatus.SUCCESS, PaymentStatus.IN_PROCESSING, False),
        # duplicates are no-ops
        (PaymentStatus.SUCCESS, PaymentStatus.SUCCESS, False),
        (PaymentStatus.PENDING, PaymentStatus.PENDING, False),
        # the first final failure stays
        (PaymentStatus.DECLINED, PaymentStatus.TIMEOUT, False),
        (PaymentStatus.TIMEOUT, PaymentStatus.DECLINED, False),
        (PaymentStatus.EXPIRED, PaymentStatus.ERROR, False),
        # money moved after a failure must show
        (PaymentStatus.EXPIRED, PaymentStatus.SUCCESS, True),
        (PaymentStatus.DECLINED, PaymentStatus.SUCCESS, True),
        (PaymentStatus.SUCCESS, PaymentStatus.DECLINED, False),
        # raw strings as stored
        ("Success", "Pending", False),
        ("Pending", "Success", True),
        # unknown statuses rank lowest
        ("Refunded", PaymentStatus.PENDING, True),
        (PaymentStatus.PENDING, "Refunded", False),
        (PaymentStatus.SUCCESS, None, False),
    ],
)
def test_status_supersedes(current, incoming, replaces):
    assert status_supersedes(incoming, current) is replaces


def test_status_precedence_orders_the_flow():
    flow = ["Pending", "Partial", "InProcessing", "Declined", "Success"]
    ranks = [status_precedence(status) for status in flow]
    assert ranks == sorted(ranks)
    assert len(set(ranks)) == len(ranks)
    assert status_precedence(None) < status_precedence("Whatever") < status_precedence("Pending")


def test_payment_type_classification():
    on_original = {t for t in PaymentType if t.is_operation_on_original}
    assert on_original == {
        PaymentType.CAPTURE,
        PaymentType.REFUND,
        PaymentType.AUTHORISATION_CANCELLATION,
        PaymentType.MBWAY_CANCELLATION,
        PaymentType.REFERENCE_CANCELLATION,
        PaymentType.REVERSAL,
    }
    assert {t for t in PaymentType if t.is_cancellation} == on_original - {
        PaymentType.CAPTURE,
        PaymentType.REFUND,
    }
    assert {t for t in PaymentType if t.is_payment} == {
        PaymentType.PURCHASE,
        PaymentType.AUTHORISATION,
        PaymentType.REFERENCE_PAYMENT,
        PaymentType.MERCHANT_INITIATED,
    }
    assert {t for t in PaymentType if t.collects_on_success} == {
        PaymentType.PURCHASE,
        PaymentType.REFERENCE_PAYMENT,
        PaymentType.MERCHANT_INITIATED,
    }
    # a payment and an operation on an original are disjoint; cash-out is neither
    assert not any(t.is_payment and t.is_operation_on_original for t in PaymentType)
    assert not PaymentType.MBWAY_CASH_OUT.is_payment
    assert not PaymentType.MBWAY_CASH_OUT.is_operation_on_original


@needs_settings
def test_labels_are_human_readable():
    from django.utils import translation

    with translation.override("en"):
        assert str(PaymentStatus.IN_PROCESSING.label) == "In processing"
        assert str(PaymentType.REFERENCE_PAYMENT.label) == "MULTIBANCO reference payment"
        assert str(PaymentMethod.MBWAY.label) == "MB WAY"
        assert dict(PaymentType.choices)["CAUT"] == PaymentType.AUTHORISATION_CANCELLATION.label
