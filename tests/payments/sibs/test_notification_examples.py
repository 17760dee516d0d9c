"""Every notification example of the SIBS manual (seed 002, #3-#18) parses to the right values."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from payments.sibs import (
    AmountQualifier,
    MandateAction,
    MandateActionStatus,
    MandateType,
    MitType,
    PaymentMethod,
    PaymentStatus,
    PaymentType,
    ReferenceStatus,
    TokenType,
    parse_notification,
)
from tests.payments.sibs.helpers import EXAMPLE_NUMBERS, example_bytes, example_dict, example_text

NOV_11 = datetime(2022, 11, 11, 16, 18, 53, 127000, tzinfo=UTC)
DEC_23 = datetime(2022, 12, 23, 10, 48, 39, 153000, tzinfo=UTC)


def parse(number: int):
    return parse_notification(example_bytes(number))


# --------------------------------------------------------------------------- fixtures themselves


@pytest.mark.parametrize("number", EXAMPLE_NUMBERS)
def test_fixtures_are_repaired_only_where_the_pdf_broke_them(number):
    text = example_text(number)

    assert "\u201c" not in text and "\u201d" not in text
    assert "Restricted" not in text
    assert "Page " not in text
    assert "Integration Manual" not in text


def test_fixtures_keep_the_quirks_of_the_data():
    assert '"value": "16.20"' in example_text(3)  # amount as a string
    assert '"value": 1.96' in example_text(5)  # amount as a number
    assert '"terminalId": "99978"' in example_text(3)  # terminal as a string
    assert '"terminalId": 45546' in example_text(5)  # terminal as a number
    assert '"transactionDateTime": "2022-11-11T16:18:53.127Z "' in example_text(3)  # trailing space
    assert '"inApp": "false"' in example_text(5)
    assert '"notificationID": "0d93a5ef-13e0-4a6b-9e40-h589085hnA "' in example_text(8)
    assert '"transactionId"' not in example_text(9)
    assert '"billingAddressCity": "Lisboa "' in example_text(9)
    assert '"expiryDate": "2022-01-23T10:48:39.153Z "' in example_text(10)


@pytest.mark.parametrize("number", EXAMPLE_NUMBERS)
def test_every_example_parses_the_same_from_bytes_text_and_dict(number):
    from_bytes = parse_notification(example_bytes(number))
    from_text = parse_notification(example_text(number))
    from_dict = parse_notification(example_dict(number))

    for parsed in (from_text, from_dict):
        assert parsed.notification_id == from_bytes.notification_id
        assert parsed.transaction_id == from_bytes.transaction_id
        assert parsed.amount == from_bytes.amount
        assert str(parsed.amount) == str(from_bytes.amount)
        assert parsed.transaction_datetime == from_bytes.transaction_datetime
        assert parsed.terminal_id == from_bytes.terminal_id
        assert parsed.payment_status == from_bytes.payment_status
    assert from_bytes.extra == {}
    assert from_bytes.warnings == ()
    assert isinstance(from_bytes.payment_status, PaymentStatus)
    assert isinstance(from_bytes.payment_type, PaymentType)
    assert isinstance(from_bytes.payment_method, PaymentMethod)
    assert from_bytes.currency == "EUR"
    assert from_bytes.transaction_datetime.tzinfo is UTC


# --------------------------------------------------------------------------- one by one


def test_example_03_mbway_purchase_with_alias():
    n = parse(3)

    assert n.notification_id == "839ca363-8581-4b9f-8041-a6dfgrtyu643"
    assert n.transaction_id == "s2efgrtgn456477"
    assert n.merchant_transaction_id == "863b730df285443ca404e0085fw234"
    assert n.terminal_id == 99978
    assert n.merchant_name == "Teste MBWAY Sucesso"
    assert n.in_app is False
    assert n.payment_status is PaymentStatus.SUCCESS
    assert n.payment_method is PaymentMethod.MBWAY
    assert n.payment_type is PaymentType.PURCHASE
    assert n.amount == Decimal("16.20")
    assert str(n.amount) == "16.20"
    assert n.transaction_datetime == NOV_11
    assert n.return_status.code == "000"
    assert n.return_status.message == "Success"
    assert n.return_status.description is None
    assert n.return_status.is_ok
    assert n.internal_transaction_id == "S14073500001359S"
    assert n.token.type is TokenType.MOBILE_PHONE
    assert n.token.value == "351#912345678"
    assert n.token.masked_value == "351#*****5678"
    assert n.payment_reference is None
    assert n.mbway_mandate is None


def test_example_04_mbway_purchase_declined():
    n = parse(4)

    assert n.payment_status is PaymentStatus.DECLINED
    assert n.return_status.code == "01.106.0004"
    assert n.return_status.message == "Declined"
    assert not n.return_status.is_ok
    assert n.amount == Decimal("16.20")
    assert n.terminal_id == 99978
    assert n.merchant_name == "Teste MBWAY Erro"
    assert n.token.value == "351#912345500"
    assert n.token.masked_value == "351#*****5500"
    assert n.internal_transaction_id == "S14073500001351S"
    assert n.notification_id == "839ca363-8581-4b9f-8041-a6d456jkh678"


def test_example_05_mbway_authorised_payment_creation():
    n = parse(5)

    assert n.transaction_id == "UpxBSsjySqaR80aEzWxa"
    assert n.payment_type is PaymentType.AUTHORISATION
    assert n.payment_method is PaymentMethod.MBWAY
    assert n.amount == Decimal("1.96")
    assert n.transaction_datetime == NOV_11  # no trailing space here
    assert n.merchant_transaction_id == "1009854"
    assert n.terminal_id == 45546
    assert n.merchant_name == "Test Authorised Payment Creation"
    assert n.in_app is False
    assert n.token is None
    assert n.internal_transaction_id is None
    mandate = n.mbway_mandate
    assert mandate.mandate_id == "12345690656800744652"
    assert mandate.action is MandateAction.CREATION
    assert mandate.action_status is MandateActionStatus.SUCCESS
    assert mandate.mandate_type is MandateType.SUBSCRIPTION_CODE
    assert mandate.client_name == "Andresa COS"
    assert mandate.alias == "351#914341580"
    assert mandate.masked_alias == "351#*****1580"
    assert mandate.expiration_date is None
    assert mandate.amount_limit is None
    assert n.notification_id == "6e96b74f-ec33-4ca9-8cd3-1d00c5d82a0d"


def test_example_06_authorised_payment_purchase_without_in_app():
    n = parse(6)

    assert n.amount == Decimal("15.20")
    assert n.terminal_id == 99978
    assert n.in_app is None  # no inApp at all in this one
    assert n.payment_type is PaymentType.PURCHASE
    assert n.token.value == "351#919992314"
    assert n.internal_transaction_id == "S13074000497973S"
    assert n.notification_id == "839ca363-8581-4b9f-8041-a45tgbh67u"


def test_example_07_cancel_authorised_payment():
    n = parse(7)

    assert n.payment_method is PaymentMethod.MANDATE
    assert n.payment_type is PaymentType.AUTHORISATION_CANCELLATION
    # Success, but of an annulment: the type is what tells it apart from a payment.
    assert n.payment_status is PaymentStatus.SUCCESS
    assert n.payment_type.is_operation_on_original
    assert not n.payment_type.collects_on_success
    assert n.terminal_id == 96546
    assert n.amount == Decimal("15.20")
    assert n.internal_transaction_id == "S14072900000002S"


def test_example_08_cancel_declined_with_padded_notification_id():
    n = parse(8)

    assert n.payment_status is PaymentStatus.DECLINED
    assert n.return_status.code == "10.106.2662"
    assert n.notification_id == "0d93a5ef-13e0-4a6b-9e40-h589085hnA"
    assert n.raw_notification_id == "0d93a5ef-13e0-4a6b-9e40-h589085hnA "
    assert n.transaction_id == "s2SFFe3445gjn5hjas"
    assert n.internal_transaction_id == "S14072900000007S"


def test_example_09_static_qr_code_purchase():
    n = parse(9)

    assert n.transaction_id == "3W005000159764"
    assert n.payment_method is PaymentMethod.STATIC_QRCODE
    assert n.payment_type is PaymentType.PURCHASE
    assert n.amount == Decimal("1.60")
    assert n.transaction_datetime == datetime(2022, 11, 12, 16, 17, 53, 127000, tzinfo=UTC)
    assert n.terminal_id == 46431
    assert n.merchant_transaction_id is None
    assert n.merchant_name is None
    assert n.in_app is None
    operation = n.financial_operation
    assert operation.product["staticQRCodeId"] == "7ecf9d4e23334f7da6cb"
    assert operation.product["twoStepPurchase"] is False
    assert operation.product["productName"] == "Nome info"
    assert operation.product["productQuantity"] == 1
    assert operation.product["productAmount"] == Decimal("1.5")
    assert operation.product["expeditionAmount"] == Decimal("0.1")
    assert operation.product["customerSupportContact"] == "teste@info.com"
    assert operation.billing_info["billingTIN"] == "123456789"
    assert operation.billing_info["billingAddressCity"] == "Lisboa "  # kept as sent
    assert operation.billing_info["billingAddressLine1"] == "Rua D João "
    assert operation.billing_info["billingMobilePhone"] == "+ 351 987654321"
    assert operation.expedition_info["expeditionName"] == "Olga Rodrigues"
    assert operation.expedition_info["expeditionAddressPostalCode"] == "4646-846"
    assert operation.extra == {}


def test_example_10_multibanco_reference_generation():
    n = parse(10)

    assert n.payment_method is PaymentMethod.REFERENCE
    assert n.payment_type is PaymentType.REFERENCE_PAYMENT
    assert n.amount == Decimal("20.00")
    assert str(n.amount) == "20.00"
    assert n.transaction_datetime == DEC_23
    assert n.terminal_id == 88845
    assert n.merchant_name == "Teste Referências, Lda"
    reference = n.payment_reference
    assert reference.reference == "256309828"
    assert reference.entity == "40200"
    assert reference.payment_entity == "40200"
    assert reference.amount == Decimal("20.00")
    assert reference.currency == "EUR"
    assert reference.status is ReferenceStatus.UNPAID
    # Earlier than the transaction in the manual's example; kept as sent.
    assert reference.expiry == datetime(2022, 1, 23, 10, 48, 39, 153000, tzinfo=UTC)
    assert reference.extra == {}
    assert n.notification_id == "20273954-0540-4bd3-8e01-234eds234cds"


def test_example_11_multibanco_reference_paid():
    n = parse(11)

    assert n.amount == Decimal("20.00")  # integer 20 on the wire
    assert n.terminal_id == 88845
    assert n.payment_reference is None
    assert n.internal_transaction_id == "S14073000000341S"
    assert n.payment_type.collects_on_success
    assert n.notification_id == "20273954-0540-4bd3-8e0-asd2w4jo0mmt"


def test_example_12_card_purchase():
    n = parse(12)

    assert n.payment_method is PaymentMethod.CARD
    assert n.amount == Decimal("19.20")
    assert n.terminal_id == 66645
    assert n.merchant_name == "Teste Cartões, Lda"
    assert n.internal_transaction_id == "S14073000000711S"
    assert n.token is None


def test_example_13_token_generation():
    n = parse(13)

    assert n.transaction_id == "sandboxfghwTKNGEN000"
    assert n.payment_type is PaymentType.AUTHORISATION
    assert n.token.type is TokenType.CARD
    assert n.token.value == "fjklvnrtinrt435356jv"
    assert n.token.masked_value == "****************56jv"
    assert "fjklvnrtinrt435356jv" not in repr(n)
    assert n.terminal_id == 77745
    assert n.merchant_name == "GOMERCIANTE DO LEGACY LD"


def test_example_14_token_purchase():
    n = parse(14)

    assert n.payment_method is PaymentMethod.TOKEN
    assert n.payment_type is PaymentType.PURCHASE
    assert n.transaction_id == "s2grnvtruigbitu845hhtn"
    assert n.merchant_transaction_id == "863b730df285443ca404e008mvn432kop"
    assert n.token.value == "gbtyhyujyuikuier45646ger4"
    assert n.token.masked_value.endswith("ger4")
    assert n.internal_transaction_id is None
    assert n.merchant_name == "PETROLEOS DE PORTUGAL - PETROGAL, SA"


def test_example_15_mit_ucof():
    n = parse(15)

    assert n.payment_type is PaymentType.MERCHANT_INITIATED
    assert n.amount == Decimal("5.16")
    assert n.transaction_datetime == DEC_23
    assert n.merchant_transaction_id == "6540474"
    mit = n.merchant_initiated_transaction
    assert mit.type is MitType.UNSCHEDULED
    assert mit.amount_qualifier is AmountQualifier.ESTIMATED
    assert mit.validity_date is None
    assert mit.schedule is None


def test_example_16_mit_recurring_without_merchant_transaction_id():
    n = parse(16)

    assert n.merchant_transaction_id is None
    assert n.amount == Decimal("11.20")
    assert n.transaction_datetime == datetime(2023, 1, 6, 0, 0, 3, 378000, tzinfo=UTC)
    assert n.merchant_initiated_transaction.type is MitType.RECURRING
    assert n.merchant_initiated_transaction.amount_qualifier is AmountQualifier.ACTUAL


def test_example_17_cit_ucof_with_one_fractional_digit():
    n = parse(17)

    assert n.payment_type is PaymentType.AUTHORISATION
    assert n.amount == Decimal("102.38")
    assert n.transaction_datetime == datetime(2023, 1, 6, 16, 57, 11, 200000, tzinfo=UTC)
    mit = n.merchant_initiated_transaction
    assert mit.type is MitType.UNSCHEDULED
    assert mit.validity_date == datetime(2023, 1, 31, tzinfo=UTC)


def test_example_18_cit_recurring_with_offset_and_schedule():
    n = parse(18)

    assert n.amount == Decimal("11.20")
    assert n.transaction_datetime == datetime(2022, 12, 27, 16, 5, 27, 585000, tzinfo=UTC)
    mit = n.merchant_initiated_transaction
    assert mit.type is MitType.RECURRING
    assert mit.amount_qualifier is AmountQualifier.ACTUAL
    # "2023-06-30T01:00:00+01:00" is midnight UTC.
    assert mit.validity_date == datetime(2023, 6, 30, 0, 0, tzinfo=UTC)
    assert mit.schedule.initial_date == datetime(2022, 12, 27, tzinfo=UTC)
    assert mit.schedule.final_date == datetime(2023, 1, 6, tzinfo=UTC)
    assert mit.schedule.interval == "DAILY"
    assert n.notification_id == "a433453e-6e40-4f53-a80d-4985cffa36f6"


def test_mandate_expiration_is_a_date():
    data = example_dict(5)
    data["mbwayMandate"]["mandateExpirationDate"] = "2027-05-31T23:59:59.000Z"
    data["mbwayMandate"]["mandateAmountLimit"] = {"value": "50.0", "currency": "EUR"}

    mandate = parse_notification(data).mbway_mandate

    assert mandate.expiration_date == date(2027, 5, 31)
    assert mandate.amount_limit == Decimal("50.00")
