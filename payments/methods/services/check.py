"""Check with SIBS: what the gateway really has active for a terminal.

SIBS answers a checkout creation (``POST /payments``, seed 003) with ``paymentMethodList``: the
methods asked for that are active for the terminal. The check creates such a checkout offering
every method, for a small amount, through the terminal's gateway credential, and compares the
answer with what is enabled here. The checkout is never paid: nobody gets its form, and it
expires on its own. Whatever goes wrong (no credential, a refused token, a timeout, an answer
that cannot be read) becomes the check's result in words; nothing is raised to the page.

The call is made outside any database transaction; the result is one ``MethodCheck`` row.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice import audit
from backoffice.audit import Actor
from backoffice.models import Terminal
from payments.methods.catalogue import Method
from payments.methods.models import CheckOutcome, MethodCheck, MethodSetting
from payments.methods.resolution import Configuration
from payments.services.gateway import client_for, credential_for_transaction
from payments.sibs.client import SibsApiError, SibsHttpError, SibsInvalidResponseError, SibsTransportError

logger = logging.getLogger(__name__)

CHECK_AMOUNT = Decimal("1.00")
ASKED: tuple[str, ...] = tuple(m.value for m in Method)


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def checkout_body(*, terminal_number: int, entity: str | None, now: datetime) -> dict[str, Any]:
    """A checkout offering every method (seed 003's body), for ``CHECK_AMOUNT``."""
    amount = {"value": CHECK_AMOUNT, "currency": "EUR"}
    reference: dict[str, Any] = {
        "initialDatetime": _iso(now),
        "finalDatetime": _iso(now + timedelta(days=1)),
        "maxAmount": amount,
        "minAmount": amount,
    }
    if entity:
        reference["entity"] = entity
    return {
        "merchant": {
            "terminalId": int(terminal_number),
            "channel": "web",
            # Ours and unique (≤ 32 characters): a check is never mistaken for a sale.
            "merchantTransactionId": f"mcheck-{now:%y%m%d%H%M%S}-{secrets.token_hex(4)}",
        },
        "transaction": {
            "transactionTimestamp": _iso(now),
            "description": "Payment methods check (never paid)",
            "moto": False,
            "paymentType": "PURS",
            "amount": amount,
            "paymentMethod": list(ASKED),
            "paymentReference": reference,
        },
    }


def _return_status(data: dict | None) -> tuple[str, str]:
    status = (data or {}).get("returnStatus")
    if not isinstance(status, dict):
        return "", ""
    code = status.get("statusCode")
    text = status.get("statusDescription") or status.get("statusMsg") or ""
    return (str(code)[:64] if code is not None else ""), str(text)[:300]


def _failure_words(error: SibsApiError) -> tuple[str, str]:
    """(the check's result in words, SIBS's return code)."""
    if isinstance(error, SibsTransportError):
        # One text for every network failure: which one it was (refused, timeout, TLS) is logged
        # by the client, never shown (it would map the network behind a custom API address).
        return _("SIBS could not be reached. Nothing was changed; try again later."), ""
    if isinstance(error, SibsHttpError):
        code, text = _return_status(error.response.data if error.response else None)
        if error.http_status in (401, 403):
            return (
                _(
                    "SIBS refused the gateway credential (HTTP %(status)s). Check the client id and token in the "
                    "Credentials tab."
                )
                % {"status": error.http_status},
                code,
            )
        words = _("SIBS answered HTTP %(status)s.") % {"status": error.http_status}
        if code or text:
            words += " " + _("Its answer: %(code)s %(text)s") % {"code": code, "text": text}
        return words, code
    if isinstance(error, SibsInvalidResponseError):
        return _("SIBS's answer could not be read, so nothing can be compared."), ""
    return _("The check could not be completed."), ""


def terminal_check(*, terminal_pk: int, actor: Actor | None = None, now: datetime | None = None) -> MethodCheck:
    """Ask SIBS which methods are active for the terminal and record the comparison."""
    now = now or timezone.now()
    terminal = Terminal.objects.select_related("store", "merchant").get(pk=terminal_pk)
    config = Configuration(
        list(MethodSetting.objects.filter(merchant_id=terminal.merchant_id).select_related("reference_entity"))
    )
    enabled_here = config.enabled_methods(terminal)
    entity = config.for_terminal(terminal, Method.REFERENCE.value)["reference_entity"].value
    check = MethodCheck(
        merchant_id=terminal.merchant_id,
        terminal=terminal,
        checked_at=now,
        asked=list(ASKED),
        enabled_here=enabled_here,
        requested_by=actor.user if actor else None,
    )
    credential = credential_for_transaction(
        SimpleNamespace(merchant_id=terminal.merchant_id, store_id=terminal.store_id, terminal_id=terminal.pk)
    )
    if credential is None:
        check.outcome = CheckOutcome.FAILED
        check.detail = _("No active gateway credential applies to this terminal: add one in the Credentials tab.")
        return _save(check, actor)
    body = checkout_body(
        terminal_number=terminal.terminal_id, entity=entity.entity if entity and entity.is_active else None, now=now
    )
    try:
        # Not inside a transaction: the answer may take up to the client's read timeout.
        response = client_for(credential).checkout(body)
    except SibsApiError as error:
        check.outcome = CheckOutcome.FAILED
        check.http_status = error.http_status
        check.detail, check.return_code = _failure_words(error)
        return _save(check, actor)
    except Exception:  # the page shows words, never a 500
        logger.exception("payment methods check of terminal %s failed", terminal.terminal_id)
        check.outcome = CheckOutcome.FAILED
        check.detail = _("The check could not be completed.")
        return _save(check, actor)
    data = response.data or {}
    check.http_status = response.http_status
    code, text = _return_status(data)
    check.return_code = code
    transaction_id = data.get("transactionID")
    check.sibs_transaction_id = str(transaction_id)[:64] if isinstance(transaction_id, str | int) else ""
    listed = data.get("paymentMethodList")
    if code and code != "000":
        check.outcome = CheckOutcome.FAILED
        check.detail = _("SIBS refused the checkout: %(code)s %(text)s") % {"code": code, "text": text}
    elif not isinstance(listed, list) or not all(isinstance(m, str) for m in listed):
        check.outcome = CheckOutcome.FAILED
        check.detail = _("SIBS's answer has no list of payment methods, so nothing can be compared.")
    else:
        active = [m[:32] for m in dict.fromkeys(listed)][:20]
        check.active_at_sibs = active
        missing = [m for m in enabled_here if m not in active]
        extra = [m for m in active if m not in enabled_here]
        if not missing and not extra:
            check.outcome = CheckOutcome.AGREES
            check.detail = _("SIBS has exactly the methods enabled here active for this terminal.")
        else:
            check.outcome = CheckOutcome.DIFFERS
            parts = []
            if missing:
                parts.append(
                    _("Enabled here but not active at SIBS: %(methods)s.") % {"methods": ", ".join(_labels(missing))}
                )
            if extra:
                parts.append(
                    _("Active at SIBS but not offered here: %(methods)s.") % {"methods": ", ".join(_labels(extra))}
                )
            check.detail = " ".join(parts)
    return _save(check, actor)


def _labels(codes: list[str]) -> list[str]:
    out = []
    for code in codes:
        try:
            out.append(str(Method(code).label))
        except ValueError:
            out.append(code)
    return out


def _save(check: MethodCheck, actor: Actor | None) -> MethodCheck:
    check.save()
    if actor is not None:
        audit.record(
            actor=actor,
            action="payment_methods.checked",
            merchant=check.terminal.merchant,
            obj=check,
            after={
                "terminal": check.terminal.terminal_id,
                "outcome": check.outcome,
                "active_at_sibs": check.active_at_sibs,
                "enabled_here": check.enabled_here,
            },
        )
    return check


def terminals_to_check() -> list[int]:
    """Every active terminal of an active merchant (the daily check)."""
    return list(
        Terminal.objects.filter(is_active=True, merchant__is_active=True).order_by("pk").values_list("pk", flat=True)
    )
