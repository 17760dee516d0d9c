"""Realistic demo traffic through the sandbox gateway.

A *scenario* is one customer story told through the gateway's own calls: checkout, execution,
then sometimes a capture, refund or cancellation. Scenarios are dealt from a shuffled deck in
which each appears :data:`MIX` times, so any full deck (``len(DECK)`` transactions) has exactly
that mix and any part of one is a random sample of it.

Two drivers tell the same stories: :class:`ServiceDriver` calls :mod:`sandbox.gateway` in this
process (fast; what beat uses), :class:`HttpDriver` calls a running server's endpoints with
``requests`` (``simulate_traffic --via-http``), exercising authentication and JSON too.
"""

from __future__ import annotations

import json
import random
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol

import requests
from django.utils import timezone

from . import gateway, magic, wire
from .models import SandboxMerchant

MIX: dict[str, int] = {
    "mbway_ok": 10,
    "mbway_declined": 2,
    "mbway_timeout": 1,
    "reference_paid": 5,
    "reference_expired": 2,
    "reference_cancelled": 1,
    "card_ok": 6,
    "card_declined": 2,
    "card_3ds": 1,
    "token": 3,
    "cit_mit": 3,
    "qrcode": 4,
    "auth_capture": 4,
    "purchase_refund": 4,
    "auth_cancel": 2,
}
DECK_SIZE = sum(MIX.values())

FIRST_NAMES = ["Ana", "João", "Maria", "Rui", "Inês", "Tiago", "Beatriz", "Miguel", "Carla", "Pedro", "Sofia", "Duarte"]
SURNAMES = ["Silva", "Ferreira", "Santos", "Costa", "Pereira", "Oliveira", "Martins", "Sousa", "Rodrigues", "Almeida"]
PLACES = [
    ("Lisboa", "1100-148", "Rua Augusta"),
    ("Porto", "4000-322", "Rua de Santa Catarina"),
    ("Braga", "4700-435", "Avenida da Liberdade"),
    ("Coimbra", "3000-214", "Rua Ferreira Borges"),
    ("Faro", "8000-125", "Rua de Santo António"),
    ("Aveiro", "3800-200", "Avenida Lourenço Peixinho"),
    ("Évora", "7000-501", "Rua 5 de Outubro"),
    ("Viseu", "3500-033", "Rua Direita"),
    ("Setúbal", "2900-049", "Avenida Luísa Todi"),
    ("Funchal", "9000-060", "Rua da Carreira"),
]
PRODUCTS = [
    ("Pastéis de nata (caixa de 6)", Decimal("7.20")),
    ("Café em grão 1 kg", Decimal("18.50")),
    ("Azeite virgem extra 750 ml", Decimal("9.90")),
    ("Vinho do Porto Tawny 10 anos", Decimal("24.00")),
    ("Conservas de sardinha (pack 5)", Decimal("12.75")),
    ("Bilhete concerto Coliseu", Decimal("35.00")),
    ("Galo de Barcelos em cerâmica", Decimal("15.00")),
    ("Toalha de linho bordada", Decimal("42.00")),
]
ROUND_AMOUNTS = [Decimal(v) for v in ("5.00", "10.00", "12.50", "15.00", "20.00", "25.00", "49.90", "99.00", "150.00")]


class TrafficError(Exception):
    """A call in a scenario did not answer as the story needs (counted, never fatal)."""


class Driver(Protocol):
    def checkout(self, body: dict[str, Any]) -> dict[str, Any]: ...

    def execute(self, path: str, transaction_id: str, signature: str, body: dict[str, Any]) -> dict[str, Any]: ...

    def back_office(self, kind: str, transaction_id: str, body: dict[str, Any]) -> dict[str, Any]: ...

    def reference(self, transaction_id: str, outcome: str, delay: int) -> dict[str, Any]: ...

    def qrcode(self, body: dict[str, Any]) -> dict[str, Any]: ...


def _ok(status: int, body: dict[str, Any], what: str) -> dict[str, Any]:
    if status != 200:
        description = (body.get("returnStatus") or {}).get("statusDescription", "")
        raise TrafficError(f"{what}: HTTP {status} {description}".strip())
    return body


class ServiceDriver:
    """Drive the gateway in-process, as the merchant ``merchant``."""

    def __init__(self, merchant: SandboxMerchant) -> None:
        self.merchant = merchant

    def _payment(self, transaction_id: str):
        payment = gateway.payment_for(self.merchant, transaction_id)
        if payment is None:
            raise TrafficError(f"unknown transaction {transaction_id}")
        return payment

    def checkout(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = gateway.checkout(self.merchant, body, now=timezone.now())
        return _ok(answer.status, answer.body, "checkout")

    def execute(self, path: str, transaction_id: str, signature: str, body: dict[str, Any]) -> dict[str, Any]:
        func = {
            "mbway-id/purchase": gateway.mbway,
            "service-reference/generate": gateway.reference,
            "card/purchase": gateway.card,
            "token/purchase": gateway.token,
        }[path]
        answer = func(self._payment(transaction_id), body, forced=None, now=timezone.now())
        return _ok(answer.status, answer.body, path)

    def back_office(self, kind: str, transaction_id: str, body: dict[str, Any]) -> dict[str, Any]:
        payment = self._payment(transaction_id)
        if kind == "mit":
            answer = gateway.mit(payment, body, forced=None, now=timezone.now())
        else:
            answer = gateway.operation(payment, gateway.OPERATION_KINDS[kind], body, forced=None, now=timezone.now())
        return _ok(answer.status, answer.body, kind)

    def reference(self, transaction_id: str, outcome: str, delay: int) -> dict[str, Any]:
        body = {"outcome": outcome, "delaySeconds": delay}
        answer = gateway.control_reference(self._payment(transaction_id), body, now=timezone.now())
        return _ok(answer.status, answer.body, "reference control")

    def qrcode(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = gateway.control_qrcode(self.merchant, body, now=timezone.now())
        return _ok(answer.status, answer.body, "QR code purchase")


class HttpDriver:
    """Drive a running server's sandbox over HTTP (``base_url`` like ``http://127.0.0.1:8000``)."""

    def __init__(self, base_url: str, *, client_id: str, bearer_token: str, timeout: float = 30) -> None:
        base = base_url.rstrip("/")
        self.api = base + "/sandbox/api/v2"
        self.control = base + "/sandbox/control"
        self.client_id = client_id
        self.bearer_token = bearer_token
        self.timeout = timeout
        self.session = requests.Session()

    def _post(self, url: str, body: dict[str, Any], authorization: str, what: str) -> dict[str, Any]:
        headers = {
            "Authorization": authorization,
            "X-IBM-Client-Id": self.client_id,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        try:
            response = self.session.post(url, data=wire.dumps(body).encode(), headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise TrafficError(f"{what}: {exc}") from None
        try:
            data = json.loads(response.text, parse_float=Decimal) if response.content else {}
        except ValueError:
            raise TrafficError(f"{what}: HTTP {response.status_code}, not JSON") from None
        return _ok(response.status_code, data if isinstance(data, dict) else {}, what)

    def checkout(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._post(f"{self.api}/payments", body, f"Bearer {self.bearer_token}", "checkout")

    def execute(self, path: str, transaction_id: str, signature: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._post(f"{self.api}/payments/{transaction_id}/{path}", body, f"Digest {signature}", path)

    def back_office(self, kind: str, transaction_id: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.api}/payments/{transaction_id}/{kind}"
        return self._post(url, body, f"Bearer {self.bearer_token}", kind)

    def reference(self, transaction_id: str, outcome: str, delay: int) -> dict[str, Any]:
        url = f"{self.control}/payments/{transaction_id}/reference"
        body = {"outcome": outcome, "delaySeconds": delay}
        return self._post(url, body, f"Bearer {self.bearer_token}", "reference control")

    def qrcode(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._post(f"{self.control}/qrcode-purchases", body, f"Bearer {self.bearer_token}", "QR code purchase")


# --------------------------------------------------------------------------- stories


@dataclass
class Story:
    """What one scenario needs: a driver, the merchant's terminals, randomness, pacing."""

    driver: Driver
    terminals: list[int]
    rng: random.Random
    settle_delay: tuple[int, int] = (10, 120)  # when a reference gets paid or expires, seconds

    def amount(self, *, low: str = "3.50", high: str = "250.00") -> Decimal:
        if self.rng.random() < 0.3:
            return self.rng.choice(ROUND_AMOUNTS)
        cents = self.rng.randint(int(Decimal(low) * 100), int(Decimal(high) * 100))
        if cents % 100 in (magic.REFERENCE_PAID_CENTS, magic.REFERENCE_EXPIRED_CENTS):
            cents -= 1  # keep clear of the magic reference amounts: the story decides
        return Decimal(cents) / 100

    def merchant_tx(self, prefix: str = "ORD") -> str:
        return f"{prefix}-{timezone.now():%y%m%d}-" + "".join(
            self.rng.choices(string.ascii_uppercase + string.digits, k=8)
        )

    def phone(self, ending: str | None = None) -> str:
        digits = "9" + self.rng.choice("1236") + "".join(self.rng.choices(string.digits, k=7))
        if ending:
            digits = digits[: -len(ending)] + ending
        elif digits.endswith(("500", "408")):
            digits = digits[:-1] + "1"
        return f"351#{digits}"

    def person(self) -> tuple[str, tuple[str, str, str]]:
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(SURNAMES)}", self.rng.choice(PLACES)

    def checkout_body(
        self,
        methods: list[str],
        *,
        amount: Decimal,
        payment_type: str = "PURS",
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        now = timezone.now()
        name, (city, postcode, street) = self.person()
        body: dict[str, Any] = {
            "merchant": {
                "terminalId": self.rng.choice(self.terminals),
                "channel": "web",
                "merchantTransactionId": self.merchant_tx(),
            },
            "transaction": {
                "transactionTimestamp": wire.iso_millis(now),
                "description": f"Encomenda de {name.split()[0]}",
                "moto": False,
                "paymentType": payment_type,
                "paymentMethod": methods,
                "amount": {"value": amount, "currency": "EUR"},
            },
            "customer": {
                "customerInfo": {
                    "customerName": name,
                    "customerEmail": f"{name.split()[0].lower()}@example.pt",
                    "billingAddress": {
                        "street1": f"{street}, {self.rng.randint(1, 250)}",
                        "city": city,
                        "postcode": postcode,
                        "country": "PT",
                    },
                }
            },
        }
        if "REFERENCE" in methods:
            body["transaction"]["paymentReference"] = {
                "initialDatetime": wire.iso_millis(now),
                "finalDatetime": wire.iso_millis(now + timedelta(days=3)),
                "minAmount": {"value": amount, "currency": "EUR"},
                "maxAmount": {"value": amount, "currency": "EUR"},
            }
        body.update(extra or {})
        return body

    def start(self, methods: list[str], **kwargs: Any) -> tuple[str, str, dict[str, Any]]:
        body = self.checkout_body(methods, **kwargs)
        answer = self.driver.checkout(body)
        return answer["transactionID"], answer["transactionSignature"], body

    def card_info(self, pan: str = magic.CARD_OK, *, create_token: bool = False) -> dict[str, Any]:
        name, _ = self.person()
        expiry = timezone.now() + timedelta(days=self.rng.randint(60, 1500))
        return {
            "cardInfo": {
                "PAN": pan,
                "secureCode": f"{self.rng.randint(0, 999):03d}",
                "validationDate": wire.iso_millis(expiry),
                "cardholderName": name,
                "createToken": create_token,
            }
        }

    def operation(self, amount: Decimal | None, original: str) -> dict[str, Any]:
        transaction: dict[str, Any] = {
            "transactionTimestamp": wire.iso_millis(timezone.now()),
            "description": "Operação de backoffice",
            "originalTransaction": {"id": original, "datetime": wire.iso_millis(timezone.now())},
        }
        if amount is not None:
            transaction["amount"] = {"value": amount, "currency": "EUR"}
        return {
            "merchant": {"channel": "web", "merchantTransactionId": self.merchant_tx("OP")},
            "transaction": transaction,
        }

    def settle_after(self) -> int:
        return self.rng.randint(*self.settle_delay)


def _mbway(story: Story, ending: str | None) -> None:
    tx, signature, _ = story.start(["MBWAY", "CARD", "REFERENCE"], amount=story.amount(high="120.00"))
    story.driver.execute("mbway-id/purchase", tx, signature, {"customerPhone": story.phone(ending)})


def _reference(story: Story, outcome: str) -> None:
    tx, signature, _ = story.start(["REFERENCE", "MBWAY"], amount=story.amount())
    story.driver.execute("service-reference/generate", tx, signature, {})
    if outcome == "cancel":
        story.driver.back_office("cancellation", tx, story.operation(None, tx))
    else:
        story.driver.reference(tx, outcome, story.settle_after())


def _card(story: Story, pan: str) -> None:
    tx, signature, _ = story.start(["CARD", "MBWAY"], amount=story.amount())
    answer = story.driver.execute("card/purchase", tx, signature, story.card_info(pan))
    if answer.get("paymentStatus") == "Partial":
        action = answer.get("actionResponse") or {}
        body = {"actionProcessed": {"id": action.get("id", ""), "type": "THREEDS_CHALLENGE", "executed": True}}
        story.driver.execute("card/purchase", tx, signature, body)


def _token(story: Story) -> None:
    # Token generation (an AUTH that tokenises the card, seed 002 #13), then a purchase with it.
    tx, signature, _ = story.start(
        ["CARD"],
        amount=story.amount(high="60.00"),
        payment_type="AUTH",
        extra={"tokenisation": {"tokenisationRequest": {"tokeniseCard": True}}},
    )
    answer = story.driver.execute("card/purchase", tx, signature, story.card_info(create_token=True))
    token = (answer.get("token") or {}).get("value")
    if not token:
        raise TrafficError("token generation returned no token")
    tx2, signature2, _ = story.start(["TOKEN", "CARD"], amount=story.amount())
    story.driver.execute("token/purchase", tx2, signature2, {"tokenInfo": {"value": token, "tokenType": "Card"}})


def _cit_mit(story: Story) -> None:
    recurring = story.rng.random() < 0.5
    now = timezone.now()
    if recurring:
        amount = story.rng.choice([Decimal("9.99"), Decimal("11.20"), Decimal("29.90")])
        mit = {
            "type": "RCRR",
            "amountQualifier": "ACTUAL",
            "validityDate": wire.iso_seconds(now + timedelta(days=365)),
            "schedule": {
                "initialDate": wire.iso_seconds(now),
                "finalDate": wire.iso_seconds(now + timedelta(days=365)),
                "interval": "MONTHLY",
            },
        }
        payment_type = "PURS"
    else:
        amount = story.amount(high="150.00")
        mit = {
            "type": "UCOF",
            "amountQualifier": "ESTIMATED",
            "validityDate": wire.iso_seconds(now + timedelta(days=90)),
        }
        payment_type = "AUTH"
    tx, signature, _ = story.start(
        ["CARD"], amount=amount, payment_type=payment_type, extra={"merchantInitiatedTransaction": mit}
    )
    story.driver.execute("card/purchase", tx, signature, story.card_info())
    charge = amount if recurring else story.amount(low="3.50", high="80.00")
    body = {
        "merchant": {"merchantTransactionId": story.merchant_tx("MIT")},
        "transaction": {
            "transactionTimestamp": wire.iso_millis(timezone.now()),
            "description": "Cobrança recorrente" if recurring else "Cobrança sem a presença do cliente",
            "amount": {"value": charge, "currency": "EUR"},
        },
        "merchantInitiatedTransaction": {"type": mit["type"], "amountQualifier": mit["amountQualifier"]},
        "originalTransaction": {"id": tx},
    }
    story.driver.back_office("mit", tx, body)


def _qrcode(story: Story) -> None:
    name, (city, postcode, street) = story.person()
    product, price = story.rng.choice(PRODUCTS)
    quantity = story.rng.choice([1, 1, 1, 2, 3])
    expedition = story.rng.choice([Decimal("0.00"), Decimal("3.50"), Decimal("4.90")])
    phone = "+351 9" + "".join(story.rng.choices(string.digits, k=8))
    line1 = f"{street}, {story.rng.randint(1, 250)}"
    body = {
        "terminalId": story.rng.choice(story.terminals),
        "product": {
            "productName": product,
            "productQuantity": quantity,
            "productAmount": price,
            "expeditionAmount": expedition,
            "aliasName": story.phone(),
            "merchantContactType": "NA",
            "contactClientIndicator": 1,
            "customerSupportContact": "apoio@lojademo.example",
        },
        "billingInfo": {
            "billingTIN": "".join(story.rng.choices(string.digits, k=9)),
            "billingAddressCity": city,
            "billingAddressLine1": line1,
            "billingAddressPostalCode": postcode,
            "billingMobilePhone": phone,
        },
        "expeditionInfo": {
            "expeditionName": name,
            "expeditionAddressCity": city,
            "expeditionAddressLine1": line1,
            "expeditionAddressPostalCode": postcode,
            "expeditionMobilePhone": phone,
        },
    }
    story.driver.qrcode(body)


def _auth_capture(story: Story) -> None:
    amount = story.amount(low="20.00")
    tx, signature, _ = story.start(["CARD"], amount=amount, payment_type="AUTH")
    story.driver.execute("card/purchase", tx, signature, story.card_info())
    if story.rng.random() < 0.5:
        story.driver.back_office("capture", tx, story.operation(None, tx))
    else:  # split shipment: two partial captures, the second for what remains
        first = (amount * Decimal("0.6")).quantize(wire.CENT)
        story.driver.back_office("capture", tx, story.operation(first, tx))
        story.driver.back_office("capture", tx, story.operation(amount - first, tx))


def _purchase_refund(story: Story) -> None:
    amount = story.amount(low="10.00")
    tx, signature, _ = story.start(["CARD", "MBWAY"], amount=amount)
    story.driver.execute("card/purchase", tx, signature, story.card_info(magic.CARD_OK_MASTERCARD))
    partial = story.rng.random() < 0.5
    refund = (amount * Decimal("0.3")).quantize(wire.CENT) if partial else None
    story.driver.back_office("refund", tx, story.operation(refund, tx))


def _auth_cancel(story: Story) -> None:
    tx, signature, _ = story.start(["CARD"], amount=story.amount(low="30.00"), payment_type="AUTH")
    story.driver.execute("card/purchase", tx, signature, story.card_info())
    story.driver.back_office("cancellation", tx, story.operation(None, tx))


SCENARIOS: dict[str, Callable[[Story], None]] = {
    "mbway_ok": lambda s: _mbway(s, None),
    "mbway_declined": lambda s: _mbway(s, "500"),
    "mbway_timeout": lambda s: _mbway(s, "408"),
    "reference_paid": lambda s: _reference(s, "pay"),
    "reference_expired": lambda s: _reference(s, "expire"),
    "reference_cancelled": lambda s: _reference(s, "cancel"),
    "card_ok": lambda s: _card(s, s.rng.choice([magic.CARD_OK, magic.CARD_OK_MASTERCARD])),
    "card_declined": lambda s: _card(s, s.rng.choice([magic.CARD_DECLINED, magic.CARD_EXPIRED])),
    "card_3ds": lambda s: _card(s, magic.CARD_3DS),
    "token": _token,
    "cit_mit": _cit_mit,
    "qrcode": _qrcode,
    "auth_capture": _auth_capture,
    "purchase_refund": _purchase_refund,
    "auth_cancel": _auth_cancel,
}
assert set(SCENARIOS) == set(MIX)


@dataclass
class Deck:
    """Scenario names, each :data:`MIX` times, shuffled; reshuffled when dealt out."""

    rng: random.Random
    cards: list[str] = field(default_factory=list)

    def deal(self) -> str:
        if not self.cards:
            self.cards = [name for name, weight in MIX.items() for _ in range(weight)]
            self.rng.shuffle(self.cards)
        return self.cards.pop()


@dataclass
class Tally:
    done: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.done.values()) + sum(self.failed.values())


def play(story: Story, name: str, tally: Tally) -> None:
    """Run one scenario; a failure is counted and kept, never raised."""
    try:
        SCENARIOS[name](story)
    except (TrafficError, KeyError, TypeError) as exc:
        tally.failed[name] += 1
        if len(tally.errors) < 20:
            tally.errors.append(f"{name}: {exc}")
    else:
        tally.done[name] += 1


def run_batch(merchant: SandboxMerchant, *, count: int, rng: random.Random | None = None) -> Tally:
    """``count`` scenarios for ``merchant`` through the in-process driver (beat's gentle stream)."""
    rng = rng or random.Random()
    story = Story(driver=ServiceDriver(merchant), terminals=list(merchant.terminal_ids), rng=rng)
    deck = Deck(rng)
    tally = Tally()
    for _ in range(count):
        play(story, deck.deal(), tally)
    return tally
