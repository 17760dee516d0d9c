"""What the simulated gateway answers: SIBS-shaped bodies built from sandbox rows.

Amounts are JSON numbers with two decimals (``Decimal``, written by :func:`sandbox.wire.dumps`).
``merchant.terminalId`` is a string in synchronous answers, as in the SIBS server-to-server
examples (seed 003); notifications follow their own style.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from . import wire
from .models import SandboxOperation, SandboxPayment


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer of the gateway: status and JSON body."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class GatewayError(Exception):
    """A request the gateway refuses before doing anything (HTTP 4xx/5xx with ``returnStatus``)."""

    def __init__(self, code: str, description: str, *, status: int = 400, message: str = "Error") -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.status = status
        self.message = message

    def answer(self) -> Answer:
        return Answer(self.status, return_status_body(self.code, self.message, self.description))


def return_status(code: str = "000", message: str = "Success", description: str = "Success") -> dict[str, str]:
    return {"statusCode": code, "statusMsg": message, "statusDescription": description}


def return_status_body(code: str, message: str, description: str) -> dict[str, Any]:
    return {"returnStatus": return_status(code, message, description)}


def unauthorized(description: str) -> Answer:
    # The exact 401 body of SIBS (behind IBM API Connect) is not public: this carries both the
    # API Connect fields and a returnStatus, so a client reading either understands it.
    body = {
        "httpCode": "401",
        "httpMessage": "Unauthorized",
        "moreInformation": description,
        **return_status_body("401", "Unauthorized", description),
    }
    return Answer(401, body, {"WWW-Authenticate": 'Bearer realm="sibs-sandbox"'})


def not_found(transaction_id: str) -> Answer:
    return Answer(404, return_status_body("E0101", "Error", f"Transaction {transaction_id!r} not found."))


def _execution(started: datetime) -> dict[str, str]:
    ended = max(timezone.now(), started + timedelta(milliseconds=1))
    return {"startTime": wire.iso_millis(started), "endTime": wire.iso_millis(ended)}


def _merchant(payment: SandboxPayment, *, merchant_transaction_id: str | None = None) -> dict[str, Any]:
    merchant: dict[str, Any] = {"terminalId": str(payment.terminal_id)}
    mtid = merchant_transaction_id or payment.merchant_transaction_id
    if mtid:
        merchant["merchantTransactionId"] = mtid
    return merchant


def _outcome_status(payment: SandboxPayment) -> dict[str, str]:
    if payment.return_code == "000":
        return return_status()
    return return_status(payment.return_code, payment.return_message, payment.return_description)


# --------------------------------------------------------------------------- checkout


def form_context(payment: SandboxPayment, signature: str) -> str:
    context = {
        "PaymentMethod": payment.payment_methods,
        "TransactionSignature": signature,
        "Amount": {"Amount": wire.money_shortest(payment.amount), "Currency": payment.currency},
        "Mandate": {"MandateAvailable": False},
        "ApiVersion": "v1",
        "MOTO": bool(payment.request_body.get("transaction", {}).get("moto", False)),
    }
    return base64.b64encode(wire.dumps(context).encode()).decode("ascii")


def checkout_answer(
    payment: SandboxPayment, signature: str, *, started: datetime, token_list: list[dict[str, Any]]
) -> Answer:
    body = {
        "amount": wire.amount_object(payment.amount, payment.currency),
        "merchant": {**_merchant(payment), "channel": payment.channel},
        "transactionID": payment.transaction_id,
        "transactionSignature": signature,
        "formContext": form_context(payment, signature),
        "expiry": wire.iso_millis(payment.expires_at) if payment.expires_at else None,
        "tokenList": token_list,
        "paymentMethodList": payment.payment_methods,
        "execution": _execution(started),
        "returnStatus": return_status(),
    }
    return Answer(200, body)


# --------------------------------------------------------------------------- status


def payment_details(payment: SandboxPayment) -> dict[str, Any]:
    """The fields a status inquiry (and the execution answers) describe a payment with."""
    body: dict[str, Any] = {
        "merchant": _merchant(payment),
        "transactionID": payment.transaction_id,
        "transactionDateTime": wire.iso_millis(payment.executed_at or payment.created_at),
        "amount": wire.amount_object(payment.amount, payment.currency),
        "paymentType": payment.payment_type,
        "paymentStatus": payment.status,
    }
    if payment.payment_method:
        body["paymentMethod"] = payment.payment_method
    if payment.reference:
        body["paymentReference"] = reference_block(payment)
    if payment.payment_method == "MBWAY" and payment.phone:
        body["token"] = {"tokenType": "MobilePhone", "value": payment.phone}
    elif payment.card_token and payment.kind != SandboxPayment.Kind.MIT:
        body["token"] = {"tokenType": "Card", "value": payment.card_token}
    if payment.mit:
        body["merchantInitiatedTransaction"] = {k: v for k, v in payment.mit.items() if v not in (None, "", {})}
    if payment.original_id:
        body["originalTransaction"] = {"id": payment.original.transaction_id}
    return body


def reference_block(payment: SandboxPayment) -> dict[str, Any]:
    state = payment.reference_status or SandboxPayment.ReferenceState.UNPAID
    return {
        "reference": payment.reference,
        "entity": payment.reference_entity,
        "paymentEntity": payment.reference_entity,
        "amount": wire.amount_object(payment.amount, payment.currency),
        # The wire knows PAID and UNPAID; an expired or cancelled reference was never paid.
        "status": "PAID" if state == SandboxPayment.ReferenceState.PAID else "UNPAID",
        # Synchronous answers say expireDate; notifications say expiryDate (PROTOCOL.md §5).
        "expireDate": wire.iso_millis(payment.reference_expires_at) if payment.reference_expires_at else None,
    }


def status_answer(payment: SandboxPayment, *, started: datetime) -> Answer:
    body = payment_details(payment)
    body["execution"] = _execution(started)
    # The inquiry itself succeeded; the payment's own result is in paymentStatus.
    body["returnStatus"] = return_status()
    return Answer(200, body)


# --------------------------------------------------------------------------- execution


def mbway_answer(payment: SandboxPayment, *, started: datetime) -> Answer:
    # SIBS answers Pending: the customer confirms in the MB WAY app, the result comes by webhook.
    body = {
        "transactionID": payment.transaction_id,
        "execution": _execution(started),
        "paymentStatus": "Pending",
        "returnStatus": return_status(),
    }
    return Answer(200, body)


def reference_answer(payment: SandboxPayment, *, started: datetime) -> Answer:
    body: dict[str, Any] = {
        "transactionID": payment.transaction_id,
        "amount": wire.amount_object(payment.amount, payment.currency),
        "merchant": _merchant(payment),
        "paymentMethod": "REFERENCE",
        "execution": _execution(started),
    }
    if payment.reference:
        body["paymentReference"] = reference_block(payment)
        body["paymentStatus"] = "Pending"
        body["returnStatus"] = return_status()
    else:
        body["paymentStatus"] = payment.status
        body["returnStatus"] = _outcome_status(payment)
    return Answer(200, body)


def card_answer(payment: SandboxPayment, *, started: datetime, action_id: str = "") -> Answer:
    body: dict[str, Any] = {
        "transactionID": payment.transaction_id,
        "amount": wire.amount_object(payment.amount, payment.currency),
        "merchant": _merchant(payment),
        "paymentMethod": payment.payment_method,
        "paymentType": payment.payment_type,
        "paymentStatus": payment.status,
        "execution": _execution(started),
        "returnStatus": _outcome_status(payment),
    }
    if payment.status == "Partial":
        body["actionResponse"] = {
            "id": action_id,
            "type": "THREEDS_CHALLENGE",
            "executed": False,
            # A real gateway gives a URL for the customer's browser; the sandbox needs none: send
            # card/purchase again with actionProcessed {id, type, executed: true}.
            "description": "Send card/purchase again with actionProcessed.executed true (or false to fail 3-D Secure).",
        }
    if payment.card_token and payment.status == "Success":
        body["token"] = {"tokenType": "Card", "value": payment.card_token, "maskedPAN": payment.card_masked_pan}
    return Answer(200, body)


def mit_answer(payment: SandboxPayment, *, started: datetime) -> Answer:
    body = payment_details(payment)
    body["execution"] = _execution(started)
    body["returnStatus"] = _outcome_status(payment)
    return Answer(200, body)


# --------------------------------------------------------------------------- operations


def operation_body(operation: SandboxOperation, *, started: datetime) -> dict[str, Any]:
    """BackOfficeResponse (FENIX ``SibsPayCancellationResponse``): a new transactionID."""
    payment = operation.payment
    if operation.return_code == "000":
        status = return_status()
    else:
        status = return_status(operation.return_code, operation.return_message, operation.return_description)
    return {
        "merchant": _merchant(payment, merchant_transaction_id=operation.merchant_transaction_id or None),
        "transactionID": operation.transaction_id,
        "transactionTimestamp": wire.iso_millis(operation.created_at),
        "amount": wire.amount_object(operation.amount, operation.currency),
        "paymentStatus": operation.status,
        "execution": _execution(started),
        "returnStatus": status,
    }


def operation_status_answer(operation: SandboxOperation, *, started: datetime) -> Answer:
    """The status inquiry of a refund, capture or cancellation."""
    payment = operation.payment
    body: dict[str, Any] = {
        "merchant": _merchant(payment, merchant_transaction_id=operation.merchant_transaction_id or None),
        "transactionID": operation.transaction_id,
        "transactionDateTime": wire.iso_millis(operation.created_at),
        "amount": wire.amount_object(operation.amount, operation.currency),
        "paymentType": operation.payment_type,
        "paymentStatus": operation.status,
        "originalTransaction": {"id": payment.transaction_id},
        "execution": _execution(started),
        # The inquiry itself succeeded; the operation's own result is in paymentStatus and here:
        "returnStatus": return_status()
        if operation.return_code == "000"
        else return_status(operation.return_code, operation.return_message, operation.return_description),
    }
    if payment.payment_method:
        body["paymentMethod"] = payment.payment_method
    return Answer(200, body)
