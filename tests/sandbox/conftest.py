"""Fixtures of the sandbox gateway tests: a configured client, an API caller, a receiver.

Personas: "Loja Sandbox" is the sandbox client (terminals 99978 and 88845); "Outra" is another
client whose transactions Loja must never see.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from payments.sibs import decrypt_request, generate_secret
from sandbox import wire
from sandbox.services import sandbox_configure

CLIENT_ID = "8247e05b-e64d-4948-843d-6e8b30224e39"
TOKEN = "0276b80f950fb446c6addaccd121abfbbb.eyJlIjoiMTk4N.sandbox"
TERMINAL = 99978
OTHER_TERMINAL = 88845


@pytest.fixture
def loja(db):
    return sandbox_configure(
        client_id=CLIENT_ID,
        bearer_token=TOKEN,
        terminal_ids=[TERMINAL, OTHER_TERMINAL],
        notification_url="",
        notification_secret="",
        merchant_name="Loja Sandbox",
        notification_style="plain",
        customer_delay_seconds=0,
    )


@pytest.fixture
def outra(db):
    return sandbox_configure(
        client_id="outra-client",
        bearer_token="outra-token",
        terminal_ids=[33333],
        notification_url="",
        notification_secret="",
        merchant_name="Outra",
        customer_delay_seconds=0,
    )


class Api:
    """Calls the sandbox like a SIBS client: Bearer for checkout/status/operations, Digest for
    the execution calls. Answers are decoded with Decimal, as a careful client would."""

    root = "/sandbox/api/v2"

    def __init__(self, client, *, client_id: str = CLIENT_ID, token: str = TOKEN) -> None:
        self.client = client
        self.client_id = client_id
        self.token = token
        self.signatures: dict[str, str] = {}

    def headers(self, authorization: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"X-IBM-Client-Id": self.client_id}
        if authorization:
            headers["Authorization"] = authorization
        headers.update(extra or {})
        return headers

    def raw(self, method: str, path: str, data: Any = None, *, authorization: str | None, headers=None):
        url = path if path.startswith("/") else f"{self.root}/{path}"
        if data is None:
            body = b""
        elif isinstance(data, bytes | str):
            body = data
        else:
            body = wire.dumps(data)
        response = getattr(self.client, method.lower())(
            url, data=body, content_type="application/json", headers=self.headers(authorization, headers)
        )
        is_json = response.get("Content-Type", "").startswith("application/json")
        response.data = json.loads(response.content, parse_float=Decimal) if is_json and response.content else None
        return response

    def post(self, path: str, data: Any = None, *, headers=None):
        return self.raw(
            "POST", path, data if data is not None else {}, authorization=f"Bearer {self.token}", headers=headers
        )

    def get(self, path: str, *, headers=None):
        return self.raw("GET", path, authorization=f"Bearer {self.token}", headers=headers)

    def execute(self, transaction_id: str, action: str, data: Any = None, *, headers=None):
        signature = self.signatures[transaction_id]
        return self.raw(
            "POST",
            f"payments/{transaction_id}/{action}",
            data if data is not None else {},
            authorization=f"Digest {signature}",
            headers=headers,
        )

    def checkout(self, body: dict[str, Any] | None = None, **kwargs: Any):
        response = self.post("payments", body or checkout_body(**kwargs))
        if response.status_code == 200:
            self.signatures[response.data["transactionID"]] = response.data["transactionSignature"]
        return response

    def paid_card(self, *, amount: str = "50.00", payment_type: str = "PURS", **card: Any) -> str:
        """A successful card payment (or authorisation); returns its transactionID."""
        response = self.checkout(amount=amount, payment_type=payment_type, methods=["CARD"])
        tx = response.data["transactionID"]
        answer = self.execute(tx, "card/purchase", card_body(**card))
        assert answer.data["paymentStatus"] == "Success", answer.data
        return tx


_counter = iter(range(1, 10**6))


def checkout_body(
    *,
    amount: Any = "25.50",
    payment_type: str = "PURS",
    methods: list[str] | None = None,
    terminal: Any = TERMINAL,
    merchant_tx: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    methods = methods or ["CARD", "MBWAY", "REFERENCE"]
    value = Decimal(amount) if isinstance(amount, str) else amount
    body: dict[str, Any] = {
        "merchant": {
            "terminalId": terminal,
            "channel": "web",
            "merchantTransactionId": merchant_tx or f"Order {next(_counter)}",
        },
        "transaction": {
            "transactionTimestamp": "2026-02-12T19:08:08.354Z",
            "description": "Encomenda de teste",
            "moto": False,
            "paymentType": payment_type,
            "paymentMethod": methods,
            "amount": {"value": value, "currency": "EUR"},
        },
    }
    if "REFERENCE" in methods:
        body["transaction"]["paymentReference"] = {
            "initialDatetime": "2020-01-01T00:00:00.000Z",
            "finalDatetime": "2099-01-01T00:00:00.000Z",
            "maxAmount": {"value": value, "currency": "EUR"},
            "minAmount": {"value": value, "currency": "EUR"},
            "entity": "24000",
        }
    body.update(extra)
    return body


def card_body(pan: str = "4000000000000002", *, create_token: bool = False, validation: str = "2099-12-31T00:00:00Z"):
    return {
        "cardInfo": {
            "PAN": pan,
            "secureCode": "123",
            "validationDate": validation,
            "cardholderName": "Ana Silva",
            "createToken": create_token,
        }
    }


def operation_body(amount: str | None = None, *, merchant_tx: str | None = None, original: str | None = None):
    transaction: dict[str, Any] = {"transactionTimestamp": "2026-02-12T19:08:08.354Z", "description": "Devolução"}
    if amount is not None:
        transaction["amount"] = {"value": Decimal(amount), "currency": "EUR"}
    if original is not None:
        transaction["originalTransaction"] = {"id": original, "datetime": "2026-02-12T19:08:08.354Z"}
    return {
        "merchant": {
            "terminalId": TERMINAL,
            "channel": "web",
            "merchantTransactionId": merchant_tx or f"Op {next(_counter)}",
        },
        "transaction": transaction,
    }


@pytest.fixture
def api(client, loja) -> Api:
    return Api(client)


# --- A merchant system that receives notifications ------------------------------------------------


class Receiver:
    """A tiny HTTP server on 127.0.0.1 that decrypts sandbox notifications with the secret and
    answers as told: ``ack`` (the right acknowledgement), ``500``, ``wrong-id`` or ``000``."""

    def __init__(self) -> None:
        self.secret = generate_secret()
        self.mode = "ack"
        self.received: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {key: value for key, value in self.headers.items()}
                receiver.requests.append({"headers": headers, "body": body})
                result = decrypt_request(body=body, headers=headers, secrets=[receiver.secret])
                payload = json.loads(result.plaintext, parse_float=Decimal)
                receiver.received.append(payload)
                notification_id = payload["notificationID"]
                if receiver.mode == "500":
                    status, answer = 500, {"error": "down for maintenance"}
                elif receiver.mode == "wrong-id":
                    status, answer = 200, {"statusCode": "200", "statusMsg": "Success", "notificationID": "nope"}
                else:
                    code = "000" if receiver.mode == "000" else "200"
                    status, answer = (
                        200,
                        {"statusCode": code, "statusMsg": "Success", "notificationID": notification_id},
                    )
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/sibs"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def wired(loja, receiver):
    """Loja's notifications go to the receiver."""
    return sandbox_configure(
        client_id=CLIENT_ID,
        bearer_token=TOKEN,
        terminal_ids=[TERMINAL, OTHER_TERMINAL],
        notification_url=receiver.url,
        notification_secret=receiver.secret,
        merchant_name="Loja Sandbox",
    )
