"""The stock ledger: the only code that changes ``QrProduct.stock_units``.

Every change is one :class:`StockEntry` written in the same database transaction as a
conditional ``UPDATE`` of the product row whose row count is checked (``stock_units >= n`` for a
removal), so concurrent removals can never take the units below zero nor lose an update, and the
units on the row are always the sum of the ledger.

A person's or the API's change of a product whose terminal has a gateway credential is made at
SIBS first, through the stock API, outside any database transaction; only SIBS's ``"000"``
changes the local ledger. A refusal or a timeout leaves the ledger as it was and says why.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice import audit
from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.roles import Capability
from qrexpress.models import ProductStatus, QrProduct, StockEntry, StockSource
from qrexpress.services.errors import QrExpressError

logger = logging.getLogger(__name__)

OPERATIONS = ("add", "remove", "define")
MAX_UNITS = 1_000_000
MAX_KEY_LENGTH = 255
MAX_REASON_LENGTH = 200


@dataclass(frozen=True)
class StockChange:
    product: QrProduct
    entry: StockEntry | None
    # True when the Idempotency-Key was seen before: nothing was changed this time.
    replayed: bool = False


def parse_units(value: object, *, operation: str) -> int:
    """Whole units from a form or JSON value: 1..1,000,000 (0 allowed to define)."""
    if isinstance(value, bool) or value is None:
        raise QrExpressError(_("Enter a whole number of units."), code="invalid_units", field="units", status=400)
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit() or len(value) > 9:
            raise QrExpressError(_("Enter a whole number of units."), code="invalid_units", field="units", status=400)
        value = int(value)
    if not isinstance(value, int):
        raise QrExpressError(_("Enter a whole number of units."), code="invalid_units", field="units", status=400)
    low = 0 if operation == "define" else 1
    if not low <= value <= MAX_UNITS:
        raise QrExpressError(
            _("The units must be from %(low)s to %(high)s.") % {"low": low, "high": MAX_UNITS},
            code="invalid_units",
            field="units",
            status=400,
        )
    return value


# --------------------------------------------------------------------------- the ledger itself


def ledger_apply(
    *,
    product_id: int,
    delta: int,
    source: str,
    actor: Actor,
    reason: str = "",
    purchase=None,
    idempotency_key: str | None = None,
    fingerprint: str = "",
) -> StockEntry:
    """Change the units by ``delta`` and write its ledger row. Inside ``transaction.atomic()``.

    A removal beyond the units on the row changes nothing and raises ``not_enough_stock``.
    """
    now = timezone.now()
    rows = QrProduct.objects.filter(pk=product_id)
    if delta < 0:
        rows = rows.filter(stock_units__gte=-delta)
    if rows.update(stock_units=F("stock_units") + delta, updated_at=now) != 1:
        raise QrExpressError(_("There are not that many units in stock."), code="not_enough_stock")
    # Our UPDATE holds the row lock until commit: this read is the value it wrote.
    product = QrProduct.objects.get(pk=product_id)
    entry = StockEntry.objects.create(
        merchant_id=product.merchant_id,
        product=product,
        source=source,
        delta=delta,
        units_after=product.stock_units,
        reason=reason[:MAX_REASON_LENGTH],
        actor=actor.user,
        actor_label=actor.label,
        purchase=purchase,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        created_at=now,
    )
    _guardrails(product, delta)
    return entry


def _queue_low_stock_alert(product_id: int) -> None:
    from qrexpress import tasks

    try:
        tasks.send_low_stock_alert.delay(product_id)
    except Exception:
        # The stock change is committed; a broker outage must not turn it into an error page.
        logger.exception("qrexpress: could not queue the low-stock e-mail of product %s", product_id)


def _guardrails(product: QrProduct, delta: int) -> None:
    """Low-stock alert once per crossing, suspension at zero and reactivation, as configured."""
    units = product.stock_units
    threshold = product.low_stock_threshold
    rows = QrProduct.objects.filter(pk=product.pk)
    if delta < 0 and threshold is not None and units <= threshold:
        # Only the change that crosses the threshold sends the e-mail: the flag is set once.
        if rows.filter(low_stock_alerted=False).update(low_stock_alerted=True):
            transaction.on_commit(lambda: _queue_low_stock_alert(product.pk))
    elif delta > 0 and product.low_stock_alerted and (threshold is None or units > threshold):
        rows.update(low_stock_alerted=False)
    if delta < 0 and units == 0 and product.auto_suspend and product.status == ProductStatus.ACTIVE:
        rows.update(status=ProductStatus.SUSPENDED, suspended_for_stock=True)
    elif delta > 0 and units > 0 and product.suspended_for_stock and product.auto_reactivate:
        rows.update(status=ProductStatus.ACTIVE, suspended_for_stock=False)


# --------------------------------------------------------------------------- people and the API


def _fingerprint(**fields: object) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def _clean_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise QrExpressError(
            _("The idempotency key must be 1 to %(n)s printable characters.") % {"n": MAX_KEY_LENGTH},
            code="idempotency_key_invalid",
            status=400,
        )
    return key


def _replay(product: QrProduct, key: str, fingerprint: str) -> StockChange | None:
    existing = StockEntry.objects.filter(merchant_id=product.merchant_id, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.fingerprint != fingerprint or existing.product_id != product.pk:
        raise QrExpressError(
            _("This idempotency key was already used for a different request. Use a new key for a new change."),
            code="idempotency_key_reused",
            status=422,
        )
    return StockChange(product=QrProduct.objects.get(pk=product.pk), entry=existing, replayed=True)


def stock_change(
    *,
    access: Access,
    actor: Actor,
    product: QrProduct,
    operation: str,
    units: object,
    reason: str = "",
    source: str = StockSource.PERSON,
    idempotency_key: str | None = None,
    psu=None,
) -> StockChange:
    """Add, remove or define a product's units: at SIBS first when the product is linked to a
    gateway credential, then in the ledger. ``idempotency_key`` makes a repeated call a no-op."""
    from qrexpress.services import sibs_stock

    access.require(Capability.MANAGE_QREXPRESS)
    if product.merchant_id != access.merchant.pk or not access.allows_store(product.store_id):
        raise QrExpressError(_("No such product."), code="not_found", status=404)
    if operation not in OPERATIONS:
        raise QrExpressError(
            _("Choose add, remove or define."), code="invalid_operation", field="operation", status=400
        )
    count = parse_units(units, operation=operation)
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise QrExpressError(
            _("The reason must be at most %(n)s characters.") % {"n": MAX_REASON_LENGTH},
            code="invalid_reason",
            field="reason",
            status=400,
        )
    key = _clean_key(idempotency_key)
    fingerprint = _fingerprint(product=product.pk, operation=operation, units=count, reason=reason) if key else ""
    if key:
        replay = _replay(product, key, fingerprint)
        if replay is not None:
            return replay
    if not product.stock_managed:
        raise QrExpressError(_("This product does not manage stock."), code="stock_not_managed")
    current = QrProduct.objects.get(pk=product.pk)
    if operation == "remove" and current.stock_units < count:
        # Checked again by the conditional UPDATE; this spares SIBS a call that would be undone.
        raise QrExpressError(_("There are not that many units in stock."), code="not_enough_stock")

    link = sibs_stock.link_for(current)
    sibs_units = None
    if link is not None:
        # Outside any database transaction: SIBS may be slow, and a refusal must change nothing here.
        answer = sibs_stock.call(link, operation=operation, units=count, psu=psu or sibs_stock.psu_from_actor(actor))
        sibs_units = answer.units

    try:
        with transaction.atomic():
            if operation == "define":
                locked = QrProduct.objects.select_for_update().get(pk=product.pk)
                delta = count - locked.stock_units
            else:
                delta = count if operation == "add" else -count
            if delta == 0:
                entry = None
            else:
                entry = ledger_apply(
                    product_id=product.pk,
                    delta=delta,
                    source=source,
                    actor=actor,
                    reason=reason or _default_reason(operation, count),
                    idempotency_key=key,
                    fingerprint=fingerprint,
                )
            if sibs_units is not None:
                sibs_stock.record_sibs_units(product.pk, sibs_units)
            audit.record(
                actor=actor,
                action="qrexpress.stock_" + operation,
                merchant=access.merchant,
                obj=product,
                after={"units": count, "delta": delta, "reason": reason},
            )
    except IntegrityError:
        if key:
            # The same key, sent twice at once: the other request won; answer with its result.
            replay = _replay(product, key, fingerprint)
            if replay is not None:
                return replay
        raise
    except QrExpressError:
        if sibs_units is not None:
            # SIBS changed its units but ours could not follow (another change came first):
            # the difference is shown on the product until someone sets it right.
            sibs_stock.record_sibs_units(product.pk, sibs_units)
        raise
    return StockChange(product=QrProduct.objects.get(pk=product.pk), entry=entry)


def _default_reason(operation: str, count: int) -> str:
    if operation == "add":
        return _("%(n)s units added") % {"n": count}
    if operation == "remove":
        return _("%(n)s units removed") % {"n": count}
    return _("Stock set to %(n)s units") % {"n": count}
