"""The parser's handling of SIBS quirks (PROTOCOL.md §5) and of hostile input, one by one."""

import dataclasses
import json
from collections import OrderedDict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from payments.sibs import (
    NotificationError,
    PaymentMethod,
    PaymentStatus,
    PaymentType,
    mask_token_value,
    parse_amount,
    parse_notification,
    parse_sibs_datetime,
    parse_status_response,
)
from payments.sibs.notification import MAX_PAYLOAD_BYTES
from tests.payments.sibs.helpers import example_dict


def minimal(**overrides: Any) -> dict[str, Any]:
    """The smallest notification the parser accepts, plus overrides."""
    data: dict[str, Any] = {"notificationID": "n-1", "transactionID": "s2abc"}
    data.update(overrides)
    return data


def as_bytes(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


def with_raw_value(json_literal: str, *, key: str = "amount") -> str:
    """A notification text whose ``amount.value`` (or another key) is spliced in verbatim."""
    if key == "amount":
        json_literal = '{"currency": "EUR", "value": ' + json_literal + "}"
    return '{"notificationID": "n", "transactionID": "t", "' + key + '": ' + json_literal + "}"


def error_of(data: Any) -> NotificationError:
    with pytest.raises(NotificationError) as caught:
        parse_notification(data)
    assert isinstance(caught.value.message, str) and caught.value.message
    return caught.value


# --------------------------------------------------------------------------- amounts


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ('"16.20"', "16.20"),
        ('"16.2"', "16.20"),
        ('" 16.20 "', "16.20"),
        ('"16.200"', "16.20"),  # trailing zeros are not extra precision
        ("15.9", "15.90"),
        ("19.2", "19.20"),
        ("20", "20.00"),
        ('"20"', "20.00"),
        ("0", "0.00"),
        ("-0", "0.00"),
        ("1.6e1", "16.00"),  # a valid JSON number is a number
        ("999999999999.99", "999999999999.99"),
    ],
)
def test_amount_value_as_string_or_number(wire, expected):
    text = with_raw_value(wire)

    amount = parse_notification(text).amount

    assert isinstance(amount, Decimal)
    assert str(amount) == expected


def test_float_amount_in_a_dict_is_converted_exactly():
    # 15.9 is not representable in binary; Decimal(15.9) would be 15.9000000000000003552...
    notification = parse_notification(minimal(amount={"currency": "EUR", "value": 15.9}))

    assert notification.amount == Decimal("15.90")
    assert str(notification.amount) == "15.90"


def test_amount_uses_the_currency_minor_unit():
    assert parse_amount("100", currency="JPY") == Decimal("100")
    assert str(parse_amount("1.5", currency="KWD")) == "1.500"
    assert str(parse_amount(7, currency=None)) == "7.00"
    with pytest.raises(NotificationError, match="more than 0 decimal places"):
        parse_amount("100.5", currency="JPY")


def test_currency_is_normalised_and_validated():
    assert parse_notification(minimal(amount={"currency": " eur", "value": "1"})).currency == "EUR"

    error = error_of(minimal(amount={"currency": "EURO", "value": "1"}))
    assert (error.code, error.field) == ("invalid_field", "amount.currency")


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        ('"16.205"', "more than 2 decimal places"),
        ("16.205", "more than 2 decimal places"),
        ("1e-400", "more than 2 decimal places"),
        ('"-5.00"', "negative"),
        ("-5", "negative"),
        ('"1e400"', "not a plain decimal number"),
        ("1e400", "out of range"),
        ("1" + "0" * 60, "out of range"),
        ("1000000000000", "out of range"),
        ('"16,20"', "not a plain decimal number"),
        ('"NaN"', "not a plain decimal number"),
        ('"Infinity"', "not a plain decimal number"),
        ('"1_000"', "not a plain decimal number"),
        ('"0x10"', "not a plain decimal number"),
        ('""', "not a plain decimal number"),
        ("true", "expected a number"),
        ("[1]", "expected a number"),
        ('{"v": 1}', "expected a number"),
    ],
)
def test_bad_amounts_are_refused_with_a_clear_message(wire, reason):
    text = with_raw_value(wire)

    error = error_of(text)

    assert error.code == "invalid_field"
    assert error.field == "amount.value"
    assert reason in error.message
    assert error.message.startswith("amount.value: ")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN"), Decimal("-Infinity")])
def test_non_finite_numbers_in_a_dict_are_refused(value):
    error = error_of(minimal(amount={"currency": "EUR", "value": value}))
    assert error.code == "invalid_json"
    assert "NaN or Infinity" in error.message


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_not_json(literal):
    error = error_of(with_raw_value(literal))
    assert error.code == "invalid_json"
    assert literal in error.message


def test_integer_beyond_pythons_digit_limit_is_invalid_json():
    error = error_of(with_raw_value("9" * 5000, key="x"))
    assert error.code == "invalid_json"


def test_amount_without_value_is_absent_not_zero():
    notification = parse_notification(minimal(amount={"currency": "EUR"}))
    assert notification.amount is None
    assert notification.currency == "EUR"


# --------------------------------------------------------------------------- terminal id


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("99978", 99978),
        (" 99978 ", 99978),
        (99978, 99978),
        (1562569, 1562569),
        (Decimal("45546.0"), 45546),
        ("", None),
        (None, None),
    ],
)
def test_terminal_id_string_or_number(value, expected):
    assert parse_notification(minimal(merchant={"terminalId": value})).terminal_id == expected


@pytest.mark.parametrize("value", ["99a", "-5", "1.5", -5, 1.5, True, "9" * 19, [1], "٣٤"])
def test_bad_terminal_ids(value):
    error = error_of(minimal(merchant={"terminalId": value}))
    assert (error.code, error.field) == ("invalid_field", "merchant.terminalId")


# --------------------------------------------------------------------------- datetimes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-11-11T16:18:53.127Z ", datetime(2022, 11, 11, 16, 18, 53, 127000, tzinfo=UTC)),
        ("  2022-11-11T16:18:53.127Z\n", datetime(2022, 11, 11, 16, 18, 53, 127000, tzinfo=UTC)),
        ("2026-03-12T10:48:44Z", datetime(2026, 3, 12, 10, 48, 44, tzinfo=UTC)),
        ("2026-03-12T10:48:44z", datetime(2026, 3, 12, 10, 48, 44, tzinfo=UTC)),
        ("2023-01-06T16:57:11.2Z", datetime(2023, 1, 6, 16, 57, 11, 200000, tzinfo=UTC)),
        ("2023-01-06T16:57:11.123456789Z", datetime(2023, 1, 6, 16, 57, 11, 123456, tzinfo=UTC)),
        ("2023-06-30T01:00:00+01:00", datetime(2023, 6, 30, 0, 0, tzinfo=UTC)),
        ("2023-06-30T01:00:00+0100", datetime(2023, 6, 30, 0, 0, tzinfo=UTC)),
        ("2023-06-29T20:00:00-04", datetime(2023, 6, 30, 0, 0, tzinfo=UTC)),
        ("2023-06-30T00:00:00", datetime(2023, 6, 30, 0, 0, tzinfo=UTC)),  # naive means UTC
        ("2023-06-30 00:00:00Z", datetime(2023, 6, 30, 0, 0, tzinfo=UTC)),
        ("2023-06-30T00:00Z", datetime(2023, 6, 30, 0, 0, tzinfo=UTC)),
        ("2023-06-30", datetime(2023, 6, 30, 0, 0, tzinfo=UTC)),
    ],
)
def test_transaction_datetime_variants(text, expected):
    moment = parse_notification(minimal(transactionDateTime=text)).transaction_datetime

    assert moment == expected
    assert moment.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "2022-13-01T00:00:00Z",
        "2022-02-30T00:00:00Z",
        "2022-11-11T25:00:00Z",
        "2022-11-11T16:18:60Z",
        "2022-11-11T16:18:53+24:00",
        "2022-11-11T16:18:53+01:75",
        "11/11/2022 16:18",
        "2022-11-11T16:18:53.127Z extra",
    ],
)
def test_bad_datetimes(text):
    error = error_of(minimal(transactionDateTime=text))
    assert (error.code, error.field) == ("invalid_field", "transactionDateTime")


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+01:00",  # leaves datetime's range once in UTC
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
    ],
)
def test_dates_outside_2000_to_2099_are_flagged_and_not_used(text):
    parsed = parse_notification(minimal(transactionDateTime=text))
    assert parsed.transaction_datetime is None
    assert any(w.startswith("transactionDateTime:") and "outside 2000-2099" in w for w in parsed.warnings)
    assert parsed.raw["transactionDateTime"] == text


def test_datetime_must_be_a_string():
    with pytest.raises(NotificationError, match="expected an ISO 8601"):
        parse_sibs_datetime(1668183533)


def test_blank_datetime_is_absent():
    assert parse_notification(minimal(transactionDateTime="  ")).transaction_datetime is None


# --------------------------------------------------------------------------- merchant block


@pytest.mark.parametrize(
    ("value", "expected"),
    [("false", False), ("true", True), ("TRUE", True), (" False ", False), (False, False), (True, True)],
)
def test_in_app_string_or_bool(value, expected):
    assert parse_notification(minimal(merchant={"inApp": value})).in_app is expected


@pytest.mark.parametrize("value", ["maybe", 1, ["x"]])
def test_odd_in_app_is_a_warning_not_a_failure(value):
    notification = parse_notification(minimal(merchant={"inApp": value}))

    assert notification.in_app is None
    assert len(notification.warnings) == 1
    assert notification.warnings[0].startswith("merchant.inApp:")


def test_odd_merchant_name_is_a_warning():
    notification = parse_notification(minimal(merchant={"merchantName": 42, "terminalId": 1}))

    assert notification.merchant_name is None
    assert notification.terminal_id == 1
    assert notification.warnings == ("merchant.merchantName: expected a string, got number; ignored",)


def test_missing_merchant_transaction_id_and_the_request_spelling():
    assert parse_notification(minimal(merchant={"terminalId": 1})).merchant_transaction_id is None
    assert parse_notification(minimal()).merchant_transaction_id is None
    spelled_as_request = minimal(merchant={"merchantTransactionId": " order-7 "})
    assert parse_notification(spelled_as_request).merchant_transaction_id == "order-7"


def test_merchant_must_be_an_object():
    error = error_of(minimal(merchant="99978"))
    assert (error.code, error.field) == ("invalid_field", "merchant")


# --------------------------------------------------------------------------- references


def test_expiry_date_and_expire_date_are_both_accepted():
    webhook = parse_notification(minimal(paymentReference={"expiryDate": "2026-01-31T23:59:00Z"}))
    synchronous = parse_status_response({"paymentReference": {"expireDate": "2026-01-31T23:59:00.000Z "}})

    assert webhook.payment_reference.expiry == datetime(2026, 1, 31, 23, 59, tzinfo=UTC)
    assert synchronous.payment_reference.expiry == webhook.payment_reference.expiry


def test_reference_numbers_may_be_numeric():
    reference = parse_notification(
        minimal(paymentReference={"entity": 24000, "reference": 256309828, "status": "PAID"})
    ).payment_reference

    assert (reference.entity, reference.reference) == ("24000", "256309828")


def test_unknown_reference_fields_are_kept():
    reference = parse_notification(minimal(paymentReference={"entity": "1", "minAmount": "1.00"})).payment_reference
    assert reference.extra == {"minAmount": "1.00"}


# --------------------------------------------------------------------------- ids


def test_ids_are_stripped_and_the_raw_notification_id_is_kept():
    notification = parse_notification(
        minimal(notificationID="  abc \n", transactionID=" s2x ", internalTransactionId=" S1S ")
    )

    assert notification.notification_id == "abc"
    assert notification.raw_notification_id == "  abc \n"
    assert notification.transaction_id == "s2x"
    assert notification.internal_transaction_id == "S1S"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"notificationID": 123}, "notificationID"),
        ({"transactionID": 123456}, "transactionID"),
        ({"transactionID": ["s2"]}, "transactionID"),
        ({"merchant": {"transactionId": 1009854}}, "merchant.transactionId"),
        ({"internalTransactionId": True}, "internalTransactionId"),
        ({"transactionID": "s" * 256}, "transactionID"),
        ({"transactionID": "s2\x00x"}, "transactionID"),
        ({"returnStatus": {"statusCode": 0}}, "returnStatus.statusCode"),
    ],
)
def test_non_string_or_absurd_ids_are_refused(overrides, field):
    error = error_of(minimal(**overrides))
    assert (error.code, error.field) == ("invalid_field", field)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"transactionID": "s2"}, "notificationID"),
        ({"notificationID": "   ", "transactionID": "s2"}, "notificationID"),
        ({"notificationID": None, "transactionID": "s2"}, "notificationID"),
        ({"notificationID": "n"}, "transactionID"),
        ({"notificationID": "n", "transactionID": ""}, "transactionID"),
    ],
)
def test_missing_required_ids(data, field):
    error = error_of(data)
    assert (error.code, error.field) == ("missing_field", field)


def test_transaction_id_with_lower_case_d_is_accepted():
    assert parse_notification({"notificationID": "n", "transactionId": "s2y"}).transaction_id == "s2y"


# --------------------------------------------------------------------------- enums and extras


def test_unknown_enum_values_are_kept_as_strings():
    notification = parse_notification(
        minimal(paymentStatus="Refunded", paymentMethod="BLIK", paymentType=" ZZZZ ", token={"tokenType": "Iban"})
    )

    assert notification.payment_status == "Refunded"
    assert not isinstance(notification.payment_status, PaymentStatus)
    assert notification.payment_method == "BLIK"
    assert notification.payment_type == "ZZZZ"
    assert notification.token.type == "Iban"


def test_enum_values_in_other_casings_are_recognised():
    notification = parse_notification(minimal(paymentStatus="PENDING", paymentMethod="mbway"))
    assert notification.payment_status is PaymentStatus.PENDING
    assert notification.payment_method is PaymentMethod.MBWAY
    assert parse_notification(minimal(paymentStatus="IN PROCESSING")).payment_status is PaymentStatus.IN_PROCESSING


def test_enum_fields_must_be_strings():
    error = error_of(minimal(paymentStatus=1))
    assert (error.code, error.field) == ("invalid_field", "paymentStatus")


def test_unknown_fields_are_kept_never_fatal():
    # given: a notification from the future
    data = example_dict(3)
    data["threeDSecure"] = {"eci": "05"}
    data["brandNewField"] = [1, 2, {"x": None}]
    data["merchant"]["merchantCategory"] = "5411"
    data["transaction"] = {"originalTransaction": {"id": "s2orig"}}

    # when
    notification = parse_notification(data)

    # then
    assert notification.extra == {
        "threeDSecure": {"eci": "05"},
        "brandNewField": [1, 2, {"x": None}],
        "transaction": {"originalTransaction": {"id": "s2orig"}},
    }
    assert notification.raw["merchant"]["merchantCategory"] == "5411"
    assert notification.original_transaction_id == "s2orig"
    assert notification.payment_status is PaymentStatus.SUCCESS


def test_original_transaction_at_the_top_level():
    notification = parse_notification(minimal(paymentType="RFND", originalTransaction={"id": " s2o ", "datetime": "x"}))
    assert notification.original_transaction_id == "s2o"
    assert notification.payment_type is PaymentType.REFUND
    assert "originalTransaction" not in notification.extra


def test_client_iban_is_kept_but_not_shown():
    notification = parse_notification(minimal(paymentType="CSHT", clientIBAN="PT50000201231234567890154"))

    assert notification.client_iban == "PT50000201231234567890154"
    assert "PT50000201231234567890154" not in repr(notification)


def test_sub_objects_must_be_objects():
    for key in ("token", "paymentReference", "mbwayMandate", "merchantInitiatedTransaction", "returnStatus", "amount"):
        error = error_of(minimal(**{key: "oops"}))
        assert (error.code, error.field) == ("invalid_field", key)


def test_cosmetic_problems_in_nested_blocks_are_warnings():
    notification = parse_notification(
        minimal(
            mbwayMandate={
                "mandateIdentification": "m1",
                "mandateExpirationDate": "soon",
                "mandateAmountLimit": "lots",
                "clientName": 7,
            },
            merchantInitiatedTransaction={"type": "UCOF", "validityDate": "never"},
        )
    )

    assert notification.mbway_mandate.mandate_id == "m1"
    assert notification.mbway_mandate.expiration_date is None
    assert notification.mbway_mandate.amount_limit is None
    assert notification.merchant_initiated_transaction.validity_date is None
    assert {warning.split(":")[0] for warning in notification.warnings} == {
        "mbwayMandate.mandateExpirationDate",
        "mbwayMandate.mandateAmountLimit",
        "mbwayMandate.clientName",
        "merchantInitiatedTransaction.validityDate",
    }


# --------------------------------------------------------------------------- tokens


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("351#912345678", "351#*****5678"),
        ("fjklvnrtinrt435356jv", "****************56jv"),
        ("912345678", "*****5678"),
        ("abcd", "****"),
        ("351#12", "351#**"),
        ("", ""),
        (None, None),
    ],
)
def test_mask_token_value(value, masked):
    assert mask_token_value(value) == masked


def test_token_errors_do_not_echo_the_value():
    error = error_of(minimal(token={"tokenType": "MobilePhone", "value": 351912345678}))
    assert error.field == "token.value"
    assert "912345678" not in error.message


# --------------------------------------------------------------------------- payload shape


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"[]", "not_an_object"),
        ('"just a string"', "not_an_object"),
        ("null", "not_an_object"),
        ("42", "not_an_object"),
        (b"", "invalid_json"),
        ("   ", "invalid_json"),
        (b"{not json", "invalid_json"),
        (b'{"notificationID": "n", "transactionID": "t"} trailing', "invalid_json"),
        (b"\xff\xfe{}", "invalid_encoding"),
        (42, "not_an_object"),
        (["notificationID"], "not_an_object"),
    ],
)
def test_payloads_that_are_not_json_objects(data, code):
    assert error_of(data).code == code


def test_utf8_bom_is_tolerated():
    data = "\ufeff" + json.dumps(minimal(merchant={"merchantName": "Cartões"}), ensure_ascii=False)
    assert parse_notification(data.encode("utf-8")).merchant_name == "Cartões"
    assert parse_notification(data).merchant_name == "Cartões"


def test_extremely_deep_json_is_refused_without_crashing():
    depth = 200_000
    text = with_raw_value("[" * depth + "]" * depth, key="x")

    error = error_of(text)

    assert error.code == "too_deep"


def test_moderately_deep_json_is_refused():
    text = with_raw_value("[" * 40 + "]" * 40, key="x")
    assert error_of(text).code == "too_deep"


def test_deep_dict_input_is_refused():
    data: dict[str, Any] = minimal()
    node = data
    for _ in range(100):
        node["x"] = {}
        node = node["x"]
    assert error_of(data).code == "too_deep"


def test_huge_payload_is_refused():
    padding = "x" * MAX_PAYLOAD_BYTES
    error = error_of(json.dumps(minimal(padding=padding)).encode())
    assert error.code == "too_large"


def test_many_values_are_refused():
    error = error_of(minimal(many=list(range(50_000))))
    assert error.code == "too_large"


def test_non_json_types_in_a_dict_are_refused():
    error = error_of(minimal(when=datetime(2022, 1, 1, tzinfo=UTC)))
    assert error.code == "invalid_json"
    assert "datetime" in error.message


def test_non_string_keys_in_a_dict_are_refused():
    assert error_of(minimal(merchant={1: "x"})).code == "invalid_json"


def test_mapping_input_is_copied():
    # given
    data = OrderedDict(minimal(amount={"currency": "EUR", "value": "1.00"}))

    # when
    notification = parse_notification(data)
    data["amount"]["value"] = "999.00"

    # then
    assert type(notification.raw) is dict
    assert notification.raw["amount"]["value"] == "1.00"


def test_notifications_are_frozen():
    notification = parse_notification(minimal())
    with pytest.raises(dataclasses.FrozenInstanceError):
        notification.amount = Decimal("1")  # type: ignore[misc]


def test_raw_keeps_the_whole_payload():
    data = example_dict(9)
    assert parse_notification(as_bytes(data)).raw["financialOperation"]["product"]["productName"] == "Nome info"


# --------------------------------------------------------------------------- status responses


def test_status_response_shares_the_parser():
    # given: a status answer for a MULTIBANCO reference (expireDate, no notificationID)
    body = json.dumps(
        {
            "returnStatus": {"statusCode": "000", "statusMsg": "Success", "statusDescription": "Success"},
            "paymentStatus": "Pending",
            "paymentMethod": "REFERENCE",
            "transactionID": "s2ref",
            "transactionDateTime": "2026-03-12T10:48:44Z",
            "amount": {"currency": "EUR", "value": 19.2},
            "merchant": {"terminalId": 58019, "merchantTransactionId": "order-1"},
            "paymentType": "PURS",
            "paymentReference": {
                "reference": "123456789",
                "entity": "24000",
                "amount": {"value": 19.2, "currency": "EUR"},
                "status": "UNPAID",
                "expireDate": "2026-03-15T10:48:44Z",
            },
            "execution": {"startTime": "x", "endTime": "y"},
            "notificationID": "not-expected-here",
        }
    )

    # when
    status = parse_status_response(body)

    # then
    assert status.is_ok
    assert status.return_status.description == "Success"
    assert status.payment_status is PaymentStatus.PENDING
    assert status.transaction_id == "s2ref"
    assert status.merchant_transaction_id == "order-1"
    assert status.terminal_id == 58019
    assert status.amount == Decimal("19.20")
    assert status.payment_reference.amount == Decimal("19.20")
    assert status.payment_reference.expiry == datetime(2026, 3, 15, 10, 48, 44, tzinfo=UTC)
    assert status.extra == {"execution": {"startTime": "x", "endTime": "y"}, "notificationID": "not-expected-here"}
    assert not hasattr(status, "notification_id")


def test_status_error_response_has_only_a_return_status():
    status = parse_status_response(b'{"returnStatus": {"statusCode": "E0101", "statusMsg": "Error"}}')

    assert not status.is_ok
    assert status.return_status.code == "E0101"
    assert status.transaction_id is None
    assert status.amount is None


def test_status_response_rejects_what_notifications_reject():
    with pytest.raises(NotificationError) as caught:
        parse_status_response("[]")
    assert caught.value.code == "not_an_object"
    with pytest.raises(NotificationError) as caught:
        parse_status_response({"amount": {"value": "-1"}})
    assert caught.value.field == "amount.value"
