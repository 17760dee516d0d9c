import json

import pytest

from payments.sibs import (
    build_ack,
    build_ack_body,
    check_ack,
    decrypt_request,
    encrypt,
    generate_secret,
    is_valid_ack,
    parse_notification,
)
from tests.payments.sibs.helpers import EXAMPLE_NUMBERS, example_bytes

NOTIFICATION_ID = "2533e456-5e36-42c8-9eea-7961902f185e"


def ack_body(**fields) -> bytes:
    body = {"statusCode": "200", "statusMsg": "Success", "notificationID": NOTIFICATION_ID}
    body.update(fields)
    return json.dumps(body).encode()


def test_build_ack_defaults_to_the_production_docs():
    assert build_ack(NOTIFICATION_ID) == {
        "statusCode": "200",
        "statusMsg": "Success",
        "notificationID": NOTIFICATION_ID,
    }


def test_build_ack_with_the_qly_status_code():
    assert build_ack(NOTIFICATION_ID, status_code="000")["statusCode"] == "000"


@pytest.mark.parametrize("status_code", ["201", 200, "0", ""])
def test_build_ack_refuses_other_status_codes(status_code):
    with pytest.raises(ValueError, match="status_code"):
        build_ack(NOTIFICATION_ID, status_code=status_code)


@pytest.mark.parametrize("notification_id", ["", "   ", None, 42])
def test_build_ack_needs_a_notification_id(notification_id):
    with pytest.raises(ValueError, match="notification_id"):
        build_ack(notification_id)


def test_build_ack_echoes_the_id_exactly():
    assert build_ack("abc ")["notificationID"] == "abc "


def test_build_ack_body_is_compact_utf8_json():
    body = build_ack_body("n-é", status_code="000")

    assert isinstance(body, bytes)
    assert json.loads(body) == {"statusCode": "000", "statusMsg": "Success", "notificationID": "n-é"}
    assert b" " not in body


@pytest.mark.parametrize("status_code", ["200", "000", 200])
def test_accepted_status_codes(status_code):
    # numeric 200 is what FENIX sends in production: accepted
    assert is_valid_ack(200, ack_body(statusCode=status_code), NOTIFICATION_ID)


@pytest.mark.parametrize("status_code", ["201", "0", 0, True, 200.0, "OK", None, " 200"])
def test_rejected_status_codes(status_code):
    check = check_ack(200, ack_body(statusCode=status_code), NOTIFICATION_ID)
    assert not check.ok
    assert not check
    assert "statusCode" in check.reason


@pytest.mark.parametrize("status_msg", ["success", "SUCCESS", "Success ", "OK", None])
def test_status_msg_must_be_success(status_msg):
    check = check_ack(200, ack_body(statusMsg=status_msg), NOTIFICATION_ID)
    assert not check.ok
    assert "statusMsg" in check.reason


def test_notification_id_must_echo():
    assert not is_valid_ack(200, ack_body(notificationID="other"), NOTIFICATION_ID)
    assert not is_valid_ack(200, ack_body(notificationID=123), NOTIFICATION_ID)
    body = json.dumps({"statusCode": "200", "statusMsg": "Success"}).encode()
    assert check_ack(200, body, NOTIFICATION_ID).reason == "notificationID is missing or not a string"


def test_notification_id_echo_ignores_surrounding_whitespace():
    assert is_valid_ack(200, ack_body(notificationID=NOTIFICATION_ID + " "), NOTIFICATION_ID)
    assert is_valid_ack(200, ack_body(), " " + NOTIFICATION_ID + " ")


@pytest.mark.parametrize("http_status", [201, 202, 204, 301, 400, 500])
def test_http_status_must_be_200(http_status):
    check = check_ack(http_status, ack_body(), NOTIFICATION_ID)
    assert not check.ok
    assert str(http_status) in check.reason


@pytest.mark.parametrize(
    "body",
    [
        None,
        b"",
        "   ",
        b"OK",
        b"[]",
        b'"Success"',
        b"\xff\xfe",
        b'{"statusCode": NaN}',
        b"[" * 100_000,
        b" " * (70 * 1024),
        object(),
    ],
)
def test_garbage_bodies_are_rejected_without_raising(body):
    assert is_valid_ack(200, body, NOTIFICATION_ID) is False


def test_extra_fields_and_str_bodies_are_fine():
    body = ack_body(extra="ignored").decode()
    assert check_ack(200, body, NOTIFICATION_ID) == check_ack(200, body.encode(), NOTIFICATION_ID)
    assert check_ack(200, body, NOTIFICATION_ID).reason == "ok"


@pytest.mark.parametrize("number", EXAMPLE_NUMBERS)
def test_full_webhook_round_trip(number):
    # given: SIBS encrypts a notification with the merchant's webhook secret
    secret = generate_secret()
    sealed = encrypt(example_bytes(number), secret=secret)

    # when: the receiver decrypts, parses and acknowledges
    decrypted = decrypt_request(body=sealed.body.encode(), headers=sealed.headers(), secrets=[secret])
    notification = parse_notification(decrypted.plaintext)
    body = build_ack_body(notification.raw_notification_id)

    # then: the acknowledgement is one SIBS (or our relay) accepts
    assert is_valid_ack(200, body, notification.raw_notification_id)
    assert json.loads(body)["notificationID"] == json.loads(example_bytes(number))["notificationID"]
