"""The simulated gateway's operations: validate a decoded request body, call one service,
shape the answer.

Views call these after authentication; ``simulate_traffic`` calls them directly (its in-process
driver), so both paths share every rule. Each function returns an :class:`Answer`; refusals are
:class:`GatewayError` turned into answers here.

Codes for refused requests, after SIBS's catalogue (PROTOCOL.md §3.5): ``E0101`` for a body that
is not usable at all (and for operation bodies), ``12.110.1202`` / ``12.110.1201`` for missing /
invalid checkout data, ``12.110.1302`` / ``12.110.1301`` for missing / invalid payment-request
data. ``statusDescription`` always names the field and what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from . import magic, services, wire
from .answers import (
    Answer,
    GatewayError,
    card_answer,
    checkout_answer,
    mbway_answer,
    mit_answer,
    not_found,
    operation_body,
    operation_status_answer,
    reference_answer,
    status_answer,
)
from .models import SandboxMerchant, SandboxOperation, SandboxPayment

CHECKOUT_METHODS = ("CARD", "MBWAY", "REFERENCE", "TOKEN")
# Every paymentMethod SIBS knows (PROTOCOL.md §3.3): a checkout may ask for any of them, and the
# answer's paymentMethodList keeps those active for the terminal (services.terminal_active_methods).
KNOWN_METHODS = (*CHECKOUT_METHODS, "MANDATE", "STATIC_QRCODE", "XPAY", "QRCODE")
PAYMENT_TYPES = ("PURS", "AUTH")
MIT_TYPES = ("UCOF", "RCRR")
AMOUNT_QUALIFIERS = ("DEFAULT", "ESTIMATED", "ACTUAL")
# Length limits SIBS enforces on customer data (FENIX issues #6683, #6886); description ≤ 70 on
# back-office operations (DOC-INTL refund page).
CUSTOMER_LIMITS = {"customerName": 45, "street1": 50, "street2": 50, "city": 35, "postcode": 16}
OPERATION_DESCRIPTION_MAX = 70


class _Fields:
    """Field readers that raise GatewayError with one code for "missing" and one for "invalid"."""

    def __init__(self, missing: str, invalid: str) -> None:
        self.missing = missing
        self.invalid = invalid

    def obj(self, parent: dict[str, Any], key: str, path: str, *, required: bool = False) -> dict[str, Any] | None:
        value = parent.get(key)
        if value is None:
            if required:
                raise GatewayError(self.missing, f"{path} is missing.")
            return None
        if not isinstance(value, dict):
            raise GatewayError(self.invalid, f"{path} must be a JSON object.")
        return value

    def text(
        self, parent: dict[str, Any], key: str, path: str, *, required: bool = False, max_length: int = 255
    ) -> str | None:
        value = parent.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise GatewayError(self.missing, f"{path} is missing.")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise GatewayError(self.invalid, f"{path} must be a string.")
        text = str(value).strip()
        if len(text) > max_length:
            raise GatewayError(self.invalid, f"{path} must be at most {max_length} characters.")
        return text

    def terminal(self, parent: dict[str, Any], path: str, *, required: bool = True) -> int | None:
        value = parent.get("terminalId")
        if value is None:
            if required:
                raise GatewayError(self.missing, f"{path} is missing.")
            return None
        # SIBS examples send it as a number and as a string ("11111"): accept both.
        if isinstance(value, bool) or not (
            (isinstance(value, int) and value > 0) or (isinstance(value, str) and value.strip().isdigit())
        ):
            raise GatewayError(self.invalid, f"{path} must be a positive whole number.")
        number = int(value)
        if not 0 < number < 10**10:
            raise GatewayError(self.invalid, f"{path} must have at most 10 digits.")
        return number

    def money(
        self, parent: dict[str, Any], path: str, *, key: str = "amount", required: bool = True, allow_zero: bool = False
    ) -> tuple[Decimal | None, str | None]:
        amount = self.obj(parent, key, path, required=required)
        if amount is None:
            return None, None
        if "value" not in amount:
            raise GatewayError(self.missing, f"{path}.value is missing.")
        try:
            value = wire.parse_money(amount["value"], allow_zero=allow_zero)
        except wire.AmountError as exc:
            raise GatewayError(self.invalid, f"{path}.value {exc}.") from None
        currency = amount.get("currency", "EUR")
        if currency != "EUR":
            raise GatewayError(self.invalid, f"{path}.currency must be EUR.")
        return value, currency

    def datetime(self, parent: dict[str, Any], key: str, path: str, *, required: bool = False) -> datetime | None:
        value = parent.get(key)
        if value is None or value == "":
            if required:
                raise GatewayError(self.missing, f"{path} is missing.")
            return None
        moment = wire.parse_iso(value)
        if moment is None:
            raise GatewayError(self.invalid, f"{path} must be an ISO 8601 date-time (2026-02-12T19:08:08.354Z).")
        return moment

    def boolean(self, parent: dict[str, Any], key: str, path: str) -> bool:
        value = parent.get(key, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise GatewayError(self.invalid, f"{path} must be true or false.")
        return value


CHECKOUT = _Fields(missing="12.110.1202", invalid="12.110.1201")
PAYMENT = _Fields(missing="12.110.1302", invalid="12.110.1301")
BACKOFFICE = _Fields(missing="E0101", invalid="E0101")


def _answering(func: Callable[..., Answer]) -> Callable[..., Answer]:
    def wrapper(*args: Any, **kwargs: Any) -> Answer:
        try:
            return func(*args, **kwargs)
        except GatewayError as error:
            return error.answer()

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


# --------------------------------------------------------------------------- lookups


def payment_for(merchant: SandboxMerchant, transaction_id: str) -> SandboxPayment | None:
    """A payment of this merchant (another merchant's transaction does not exist for it)."""
    return (
        SandboxPayment.objects.select_related("merchant", "original")
        .filter(merchant=merchant, transaction_id=transaction_id)
        .first()
    )


# --------------------------------------------------------------------------- checkout


def _mit_spec(body: dict[str, Any], transaction: dict[str, Any], fields: _Fields) -> dict[str, Any] | None:
    for parent, path in ((body, ""), (transaction, "transaction.")):
        for key in ("merchantInitiatedTransaction", "recurringTransaction"):
            block = fields.obj(parent, key, f"{path}{key}")
            if block is None:
                continue
            mit_type = block.get("type", "UCOF" if key == "merchantInitiatedTransaction" else "RCRR")
            if mit_type not in MIT_TYPES:
                raise GatewayError(fields.invalid, f"{path}{key}.type must be UCOF or RCRR.")
            qualifier = block.get("amountQualifier", "DEFAULT")
            if qualifier not in AMOUNT_QUALIFIERS:
                raise GatewayError(fields.invalid, f"{path}{key}.amountQualifier must be one of {AMOUNT_QUALIFIERS}.")
            spec: dict[str, Any] = {"type": mit_type, "amountQualifier": qualifier}
            validity = fields.datetime(block, "validityDate", f"{path}{key}.validityDate")
            if validity:
                spec["validityDate"] = block["validityDate"]
            schedule = fields.obj(block, "schedule", f"{path}{key}.schedule")
            if schedule:
                spec["schedule"] = wire.plain(schedule)
            return spec
    return None


def _check_customer(body: dict[str, Any]) -> None:
    customer = CHECKOUT.obj(body, "customer", "customer")
    info = CHECKOUT.obj(customer, "customerInfo", "customer.customerInfo") if customer else None
    if not info:
        return
    CHECKOUT.text(
        info, "customerName", "customer.customerInfo.customerName", max_length=CUSTOMER_LIMITS["customerName"]
    )
    CHECKOUT.text(info, "customerEmail", "customer.customerInfo.customerEmail", max_length=100)
    for address_key in ("shippingAddress", "billingAddress"):
        address = CHECKOUT.obj(info, address_key, f"customer.customerInfo.{address_key}")
        for key in ("street1", "street2", "city", "postcode"):
            if address:
                CHECKOUT.text(
                    address, key, f"customer.customerInfo.{address_key}.{key}", max_length=CUSTOMER_LIMITS[key]
                )


@_answering
def checkout(merchant: SandboxMerchant, body: dict[str, Any], *, now: datetime) -> Answer:
    """``POST /payments``."""
    f = CHECKOUT
    merchant_block = f.obj(body, "merchant", "merchant", required=True)
    terminal_id = f.terminal(merchant_block, "merchant.terminalId")
    if terminal_id not in merchant.terminal_ids:
        raise GatewayError(f.invalid, f"merchant.terminalId {terminal_id} is not a terminal of this client.")
    merchant_tx = f.text(
        merchant_block,
        "merchantTransactionId",
        "merchant.merchantTransactionId",
        required=True,
        max_length=wire.MAX_MERCHANT_TX_ID,
    )
    channel = f.text(merchant_block, "channel", "merchant.channel", max_length=16) or "web"

    transaction = f.obj(body, "transaction", "transaction", required=True)
    payment_type = f.text(transaction, "paymentType", "transaction.paymentType", required=True)
    if payment_type not in PAYMENT_TYPES:
        raise GatewayError(f.invalid, "transaction.paymentType must be PURS or AUTH.")
    methods = transaction.get("paymentMethod")
    if methods is None or methods == []:
        raise GatewayError(f.missing, "transaction.paymentMethod is missing.")
    if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
        raise GatewayError(f.invalid, "transaction.paymentMethod must be a list of strings.")
    unknown = [m for m in methods if m not in KNOWN_METHODS]
    if unknown:
        raise GatewayError(
            f.invalid,
            f"transaction.paymentMethod {unknown} not supported (the sandbox offers {list(KNOWN_METHODS)}).",
        )
    active = services.terminal_active_methods(merchant, terminal_id, default=CHECKOUT_METHODS)
    methods = [m for m in dict.fromkeys(methods) if m in active]
    if not methods:
        raise GatewayError(f.invalid, f"None of transaction.paymentMethod is active for terminal {terminal_id}.")
    # An AUTH of zero is how a card is tokenised / a CIT set up without charging (VALIDATOR).
    amount, currency = f.money(transaction, "transaction.amount", allow_zero=payment_type == "AUTH")
    assert amount is not None and currency is not None
    description = f.text(transaction, "description", "transaction.description") or ""
    f.datetime(transaction, "transactionTimestamp", "transaction.transactionTimestamp")
    f.boolean(transaction, "moto", "transaction.moto")

    reference_entity = reference_expiry = None
    if "REFERENCE" in methods:
        reference_entity, reference_expiry = _reference_spec(transaction, amount, now)
    mit = _mit_spec(body, transaction, f)
    tokenisation = f.obj(body, "tokenisation", "tokenisation") or {}
    request = f.obj(tokenisation, "tokenisationRequest", "tokenisation.tokenisationRequest") or {}
    tokenise = f.boolean(request, "tokeniseCard", "tokenisation.tokenisationRequest.tokeniseCard")
    token_list = _token_list(merchant, tokenisation)
    _check_customer(body)

    payment, signature = services.checkout_create(
        merchant=merchant,
        terminal_id=terminal_id,
        merchant_transaction_id=merchant_tx,
        channel=channel,
        description=description,
        payment_type=payment_type,
        payment_methods=methods,
        amount=amount,
        currency=currency,
        tokenise=tokenise,
        reference_entity=reference_entity,
        reference_expires_at=reference_expiry,
        mit=mit,
        request_body=body,
        now=now,
    )
    return checkout_answer(payment, signature, started=now, token_list=token_list)


def _reference_spec(transaction: dict[str, Any], amount: Decimal, now: datetime) -> tuple[str | None, datetime]:
    f = CHECKOUT
    spec = f.obj(transaction, "paymentReference", "transaction.paymentReference", required=True)
    assert spec is not None
    entity = f.text(spec, "entity", "transaction.paymentReference.entity", max_length=5)
    if entity is not None and not (entity.isdigit() and len(entity) == 5):
        raise GatewayError(f.invalid, "transaction.paymentReference.entity must be 5 digits.")
    initial = f.datetime(spec, "initialDatetime", "transaction.paymentReference.initialDatetime") or now
    final = f.datetime(spec, "finalDatetime", "transaction.paymentReference.finalDatetime", required=True)
    assert final is not None
    if final <= initial or final <= now:
        raise GatewayError(
            f.invalid, "transaction.paymentReference.finalDatetime must be in the future and after initialDatetime."
        )
    low, _ = f.money(spec, "transaction.paymentReference.minAmount", key="minAmount", required=False)
    high, _ = f.money(spec, "transaction.paymentReference.maxAmount", key="maxAmount", required=False)
    if (low is not None and low > amount) or (high is not None and high < amount):
        raise GatewayError(
            f.invalid, "transaction.paymentReference minAmount/maxAmount must include the transaction amount."
        )
    return entity, final


def _token_list(merchant: SandboxMerchant, tokenisation: dict[str, Any]) -> list[dict[str, Any]]:
    tokens = tokenisation.get("paymentTokens")
    if tokens is None:
        return []
    if not isinstance(tokens, list) or not all(isinstance(t, dict) for t in tokens):
        raise GatewayError(CHECKOUT.invalid, "tokenisation.paymentTokens must be a list of objects.")
    values = [str(t.get("value")) for t in tokens if t.get("value")]
    found = []
    for payment in SandboxPayment.objects.filter(merchant=merchant, card_token__in=values).exclude(card_token=""):
        if payment.card_token not in [t["value"] for t in found]:
            found.append(
                {
                    "tokenName": f"Card {payment.card_masked_pan[-4:]}",
                    "tokenType": "Card",
                    "value": payment.card_token,
                    "maskedPAN": payment.card_masked_pan,
                    "expireDate": None,
                }
            )
    return found


# --------------------------------------------------------------------------- status


@_answering
def status(payment: SandboxPayment, *, now: datetime) -> Answer:
    """``GET /payments/{id}/status``: a simulated customer who is due acts first."""
    if services.payment_is_due(payment, now):
        payment = services.payment_resolve(payment, now=now)
    return status_answer(payment, started=now)


@_answering
def status_by_merchant_transaction(
    merchant: SandboxMerchant, merchant_transaction_id: str, terminal_id: str | None, *, now: datetime
) -> Answer:
    """``GET /payments/status?merchantTransactionId=…`` (optionally ``&terminalId=…``)."""
    if not merchant_transaction_id:
        raise GatewayError("E0101", "The merchantTransactionId query parameter is missing.")
    payments = SandboxPayment.objects.filter(merchant=merchant, merchant_transaction_id=merchant_transaction_id)
    if terminal_id:
        if not terminal_id.isdigit():
            raise GatewayError("E0101", "The terminalId query parameter must be a whole number.")
        payments = payments.filter(terminal_id=int(terminal_id))
    payment = payments.order_by("-created_at", "-pk").first()
    if payment is None:
        # A refund, capture or cancellation is found by its own merchantTransactionId too: how a
        # client whose answer was lost learns what became of it.
        operations = SandboxOperation.objects.select_related("payment", "payment__merchant").filter(
            payment__merchant=merchant, merchant_transaction_id=merchant_transaction_id
        )
        if terminal_id:
            operations = operations.filter(payment__terminal_id=int(terminal_id))
        operation = operations.order_by("-created_at", "-pk").first()
        if operation is not None:
            return operation_status(operation, now=now)
        return not_found(merchant_transaction_id)
    return status(payment, now=now)


def operation_for(merchant: SandboxMerchant, transaction_id: str) -> SandboxOperation | None:
    """A refund, capture or cancellation of this merchant by its own transactionID."""
    return (
        SandboxOperation.objects.select_related("payment", "payment__merchant")
        .filter(payment__merchant=merchant, transaction_id=transaction_id)
        .first()
    )


@_answering
def operation_status(operation: SandboxOperation, *, now: datetime) -> Answer:
    """``GET /payments/{id}/status`` of an operation: the inquiry shape (ResponseInquiry) with the
    operation's type, status and result, and the payment it acted on."""
    return operation_status_answer(operation, started=now)


# --------------------------------------------------------------------------- execution


@_answering
def mbway(payment: SandboxPayment, body: dict[str, Any], *, forced: str | None, now: datetime) -> Answer:
    """``POST /payments/{id}/mbway-id/purchase``."""
    if PAYMENT.obj(body, "mandate", "mandate"):
        raise GatewayError("12.110.1301", "MB WAY authorised payments (mandates) are not simulated by the sandbox.")
    phone = PAYMENT.text(body, "customerPhone", "customerPhone", required=True, max_length=24)
    assert phone is not None
    if not magic.valid_phone(phone):
        raise GatewayError("12.110.1301", "customerPhone must be <country code>#<number>, e.g. 351#912345678.")
    if payment.amount is not None and payment.amount > magic.MBWAY_MAX_AMOUNT:
        raise GatewayError(
            "12.110.1301",
            f"The amount is above the MB WAY limit of {magic.MBWAY_MAX_AMOUNT} EUR per payment.",
        )
    payment = services.mbway_purchase(payment=payment, phone=phone, forced=forced, now=now)
    return mbway_answer(payment, started=now)


@_answering
def reference(payment: SandboxPayment, body: dict[str, Any], *, forced: str | None, now: datetime) -> Answer:
    """``POST /payments/{id}/service-reference/generate`` (body ``{}``)."""
    entity = payment.reference_entity
    if entity and entity != payment.merchant.reference_entity:
        raise GatewayError(
            "12.110.1301",
            f"Payment entity {entity} is not active for this client: MULTIBANCO references can only be generated "
            f"with entity {payment.merchant.reference_entity}.",
        )
    payment = services.reference_generate(payment=payment, forced=forced, now=now)
    return reference_answer(payment, started=now)


@_answering
def card(payment: SandboxPayment, body: dict[str, Any], *, forced: str | None, now: datetime) -> Answer:
    """``POST /payments/{id}/card/purchase``; again with ``actionProcessed`` after 3-D Secure."""
    f = PAYMENT
    action = f.obj(body, "actionProcessed", "actionProcessed")
    if action is not None and payment.status == "Partial":
        executed = f.boolean(action, "executed", "actionProcessed.executed")
        payment = services.card_action(payment=payment, executed=executed, forced=forced, now=now)
        return card_answer(payment, started=now)
    info = f.obj(body, "cardInfo", "cardInfo", required=True)
    assert info is not None
    pan = f.text(info, "PAN", "cardInfo.PAN", required=True, max_length=23)
    assert pan is not None
    pan = pan.replace(" ", "")
    if not magic.luhn_ok(pan):
        raise GatewayError(f.invalid, "cardInfo.PAN is not a valid card number.")
    secure_code = f.text(info, "secureCode", "cardInfo.secureCode", max_length=4)
    if secure_code is not None and not (secure_code.isdigit() and len(secure_code) in (3, 4)):
        raise GatewayError(f.invalid, "cardInfo.secureCode must be 3 or 4 digits.")
    validation = f.datetime(info, "validationDate", "cardInfo.validationDate", required=True)
    assert validation is not None
    f.text(info, "cardholderName", "cardInfo.cardholderName", max_length=45)
    tokenise = f.boolean(info, "createToken", "cardInfo.createToken")
    card_input = services.CardInput(pan=pan, expired=validation < now)
    payment = services.card_purchase(payment=payment, card=card_input, tokenise=tokenise, forced=forced, now=now)
    action_id = payment.transaction_id + "-3ds" if payment.status == "Partial" else ""
    return card_answer(payment, started=now, action_id=action_id)


@_answering
def token(payment: SandboxPayment, body: dict[str, Any], *, forced: str | None, now: datetime) -> Answer:
    """``POST /payments/{id}/token/purchase`` with ``tokenInfo`` (or the checkout's paymentTokens)."""
    info = PAYMENT.obj(body, "tokenInfo", "tokenInfo")
    value = PAYMENT.text(info, "value", "tokenInfo.value", max_length=64) if info else None
    if value is None:
        tokens = (payment.request_body.get("tokenisation") or {}).get("paymentTokens") or []
        value = next((str(t["value"]) for t in tokens if isinstance(t, dict) and t.get("value")), None)
    if value is None:
        raise GatewayError("12.110.1302", "tokenInfo.value is missing.")
    payment = services.token_purchase(payment=payment, token=value, forced=forced, now=now)
    return card_answer(payment, started=now)


# --------------------------------------------------------------------------- operations


def _original_id(body: dict[str, Any], transaction: dict[str, Any] | None) -> str | None:
    # Inside ``transaction`` (DOC shape), at the top level (FENIX cancellations) or absent
    # (VALIDATOR): the path id always decides, a contradicting body is refused.
    for parent, path in ((transaction or {}, "transaction.originalTransaction"), (body, "originalTransaction")):
        original = BACKOFFICE.obj(parent, "originalTransaction", path)
        if original is not None and original.get("id") not in (None, ""):
            if not isinstance(original["id"], str):
                raise GatewayError("E0101", f"{path}.id must be a string.")
            return original["id"]
    return None


@_answering
def operation(payment: SandboxPayment, kind: str, body: dict[str, Any], *, forced: str | None, now: datetime) -> Answer:
    """``POST /payments/{id}/refund|capture|cancellation`` — a BackOfficeResponse."""
    f = BACKOFFICE
    merchant_block = f.obj(body, "merchant", "merchant") or {}
    terminal_id = f.terminal(merchant_block, "merchant.terminalId", required=False)
    if terminal_id is not None and terminal_id != payment.terminal_id:
        raise GatewayError(
            "E0101", f"merchant.terminalId {terminal_id} is not the terminal of the original transaction."
        )
    merchant_tx = (
        f.text(
            merchant_block,
            "merchantTransactionId",
            "merchant.merchantTransactionId",
            max_length=wire.MAX_MERCHANT_TX_ID,
        )
        or ""
    )
    transaction = f.obj(body, "transaction", "transaction")
    amount = currency = None
    if transaction is not None:
        amount, currency = f.money(transaction, "transaction.amount", required=False)
        f.text(transaction, "description", "transaction.description", max_length=OPERATION_DESCRIPTION_MAX)
        f.datetime(transaction, "transactionTimestamp", "transaction.transactionTimestamp")
    original_id = _original_id(body, transaction)
    if original_id is not None and original_id != payment.transaction_id:
        raise GatewayError(
            "E0101", f"originalTransaction.id {original_id!r} does not match the transaction in the path."
        )
    result = services.operation_apply(
        payment=payment,
        kind=kind,
        amount=amount,
        currency=currency,
        merchant_transaction_id=merchant_tx,
        forced=forced,
        request_body=body,
        now=now,
    )
    return Answer(200, operation_body(result.operation, started=now))


OPERATION_KINDS = {
    "refund": SandboxOperation.Kind.REFUND,
    "capture": SandboxOperation.Kind.CAPTURE,
    "cancellation": SandboxOperation.Kind.CANCELLATION,
}


@_answering
def mit(original: SandboxPayment, body: dict[str, Any], *, forced: str | None, now: datetime) -> Answer:
    """``POST /payments/{id}/mit``: charge a card CIT (or tokenised card) without the customer.

    The path id is the original CIT. Sources only show this call in an onboarding tool
    (PROTOCOL.md §2.3), so its shape here is the sandbox's reading of it.
    """
    f = BACKOFFICE
    merchant_block = f.obj(body, "merchant", "merchant", required=True)
    assert merchant_block is not None
    terminal_id = f.terminal(merchant_block, "merchant.terminalId", required=False) or original.terminal_id
    if terminal_id not in original.merchant.terminal_ids:
        raise GatewayError("E0101", f"merchant.terminalId {terminal_id} is not a terminal of this client.")
    merchant_tx = f.text(
        merchant_block,
        "merchantTransactionId",
        "merchant.merchantTransactionId",
        required=True,
        max_length=wire.MAX_MERCHANT_TX_ID,
    )
    transaction = f.obj(body, "transaction", "transaction", required=True)
    assert transaction is not None and merchant_tx is not None
    amount, currency = f.money(transaction, "transaction.amount")
    assert amount is not None and currency is not None
    description = f.text(transaction, "description", "transaction.description") or ""
    original_id = _original_id(body, transaction)
    if original_id is not None and original_id != original.transaction_id:
        raise GatewayError(
            "E0101", f"originalTransaction.id {original_id!r} does not match the transaction in the path."
        )
    spec = _mit_spec(body, transaction, f) or {}
    cit = original.mit or {}
    mit_block = {
        "type": spec.get("type") or cit.get("type") or "UCOF",
        "amountQualifier": spec.get("amountQualifier") or cit.get("amountQualifier") or "ACTUAL",
    }
    payment = services.mit_charge(
        original=original,
        terminal_id=terminal_id,
        merchant_transaction_id=merchant_tx,
        description=description,
        amount=amount,
        currency=currency,
        mit=mit_block,
        forced=forced,
        request_body=body,
        now=now,
    )
    return mit_answer(payment, started=now)


# --------------------------------------------------------------------------- control API


@_answering
def control_reference(payment: SandboxPayment, body: dict[str, Any], *, now: datetime) -> Answer:
    """Sandbox control: ``{"outcome": "pay"|"expire", "delaySeconds": 0}`` for a reference."""
    outcome = body.get("outcome")
    if outcome not in ("pay", "expire"):
        raise GatewayError("E0101", 'outcome must be "pay" or "expire".')
    delay = body.get("delaySeconds", 0)
    if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= 86400:
        raise GatewayError("E0101", "delaySeconds must be a whole number from 0 to 86400.")
    payment = services.reference_settle(payment=payment, outcome=outcome, delay_seconds=delay, now=now)
    return status_answer(payment, started=now)


@_answering
def control_qrcode(merchant: SandboxMerchant, body: dict[str, Any], *, now: datetime) -> Answer:
    """Sandbox control: a customer pays a static QR code. Body: ``terminalId``, ``product``
    {``productName``, ``productAmount``, ``productQuantity``, ``expeditionAmount``, …},
    optional ``billingInfo`` / ``expeditionInfo`` (sent as is in the notification) and
    optional ``amount`` {value} (default: quantity * product amount + expedition)."""
    f = BACKOFFICE
    terminal_id = f.terminal(body, "terminalId")
    if terminal_id not in merchant.terminal_ids:
        raise GatewayError("E0101", f"terminalId {terminal_id} is not a terminal of this client.")
    product = f.obj(body, "product", "product", required=True)
    assert product is not None
    f.text(product, "productName", "product.productName", required=True, max_length=100)
    try:
        unit = wire.parse_money(product.get("productAmount"))
        expedition = wire.parse_money(product.get("expeditionAmount", 0), allow_zero=True)
    except wire.AmountError as exc:
        raise GatewayError("E0101", f"product amounts: {exc}.") from None
    quantity = product.get("productQuantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 999:
        raise GatewayError("E0101", "product.productQuantity must be a whole number from 1 to 999.")
    amount, currency = f.money(body, "amount", required=False)
    if amount is None:
        amount, currency = unit * quantity + expedition, "EUR"
    operation = {
        "product": {
            "staticQRCodeId": product.get("staticQRCodeId") or wire.new_card_token(),
            "twoStepPurchase": False,
            **product,
            "productQuantity": quantity,
            "productAmount": unit,
            "expeditionAmount": expedition,
        },
        "billingInfo": f.obj(body, "billingInfo", "billingInfo") or {},
        "expeditionInfo": f.obj(body, "expeditionInfo", "expeditionInfo") or {},
    }
    payment = services.qrcode_purchase(
        merchant=merchant,
        terminal_id=terminal_id,
        amount=amount,
        currency=currency or "EUR",
        financial_operation=operation,
        now=now,
    )
    return status_answer(payment, started=now)
