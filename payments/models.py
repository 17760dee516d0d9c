"""Transactions as SIBS reports them, their timelines, and the credentials to ask SIBS about them.

One ``Transaction`` per SIBS ``transactionID`` and merchant. Refunds, captures and cancellations
get their own ``transactionID`` from SIBS, so they are ``Transaction`` rows too, linked to the
payment they act on through ``original``; the original keeps the balances, recomputed from its
successful operations (never incremented), so replays and reorderings cannot double-count.

Two statuses are kept side by side: ``payment_status`` is SIBS's ``paymentStatus`` exactly as
the highest-precedence notification or inquiry sent it (``payments.sibs.enums.status_supersedes``),
and ``state`` is what it means for the merchant (a MULTIBANCO reference with ``Success`` is only
*awaiting payment*; an annulment with ``Success`` is never *paid*). See ``services/ledger.py``.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.crypto import EncryptedTextField
from backoffice.models import Merchant, Store, Terminal
from payments.sibs.enums import PaymentStatus, PaymentType, ReferenceStatus

# Amounts: up to 12 integer digits (the parser refuses a trillion) and 3 decimals (BHD, KWD…).
MONEY = {"max_digits": 16, "decimal_places": 3}
ZERO = Decimal("0")


class ApiRootPreset(models.TextChoices):
    SANDBOX = "sandbox", _("Built-in sandbox")
    QLY = "sibs_qly", _("SIBS QLY (test)")
    PRODUCTION = "sibs_production", _("SIBS production")
    CUSTOM = "custom", _("Other address")


# The "direct" hosts FENIX (in production since 2023) uses; the path prefix differs per host, so
# the whole root up to /api/v2 is stored (PROTOCOL.md §2.1).
API_ROOTS = {
    ApiRootPreset.QLY: "https://spg.qly.site1.sibs.pt/api/v2",
    ApiRootPreset.PRODUCTION: "https://api.sibspayments.com/api/v2",
}


def sandbox_api_root() -> str:
    return f"{settings.SITE_URL}/sandbox/api/v2"


class GatewayCredential(models.Model):
    """What the backoffice needs to call SIBS for a merchant, or for one of its stores or terminals.

    A SIBS token belongs to one merchant terminal (its claims carry the merchant and terminal
    codes), hence ``terminal_number``. The most specific active credential wins: terminal, then
    store, then merchant.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="gateway_credentials")
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    terminal = models.ForeignKey(Terminal, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100, blank=True)
    terminal_number = models.PositiveBigIntegerField(_("SIBS terminal id"))
    client_id = models.CharField(_("client id (X-IBM-Client-Id)"), max_length=100)
    bearer_token = EncryptedTextField(_("bearer token"))
    # Last characters of the token, to tell credentials apart without decrypting anything.
    token_hint = models.CharField(max_length=8, blank=True)
    api_root_preset = models.CharField(
        _("API address"), max_length=20, choices=ApiRootPreset.choices, default=ApiRootPreset.SANDBOX
    )
    custom_api_root = models.URLField(_("custom API root"), max_length=300, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["merchant", "-is_active", "-created_at"]
        verbose_name = _("gateway credential")
        verbose_name_plural = _("gateway credentials")
        constraints = [
            # One active credential per scope: which one applies is never ambiguous.
            models.UniqueConstraint(
                fields=["merchant"],
                condition=Q(is_active=True, store__isnull=True, terminal__isnull=True),
                name="gateway_credential_one_active_per_merchant",
            ),
            models.UniqueConstraint(
                fields=["store"],
                condition=Q(is_active=True, store__isnull=False),
                name="gateway_credential_one_active_per_store",
            ),
            models.UniqueConstraint(
                fields=["terminal"],
                condition=Q(is_active=True, terminal__isnull=False),
                name="gateway_credential_one_active_per_terminal",
            ),
            models.CheckConstraint(
                condition=Q(store__isnull=True) | Q(terminal__isnull=True),
                name="gateway_credential_one_scope",
            ),
        ]

    def __str__(self) -> str:
        if self.name:
            return self.name
        if self.terminal_id:
            return self.scope_label
        return f"{self.scope_label} · {self.terminal_number}"

    @property
    def scope(self) -> str:
        if self.terminal_id:
            return "terminal"
        if self.store_id:
            return "store"
        return "merchant"

    @property
    def scope_label(self) -> str:
        if self.terminal_id:
            return str(_("Terminal %(terminal)s") % {"terminal": self.terminal.terminal_id})
        if self.store_id:
            return str(_("Store %(store)s") % {"store": self.store.name})
        return str(_("Whole merchant"))

    @property
    def api_root(self) -> str:
        """The root URL up to ``/api/v2``, without a trailing slash."""
        if self.api_root_preset == ApiRootPreset.SANDBOX:
            return sandbox_api_root()
        if self.api_root_preset == ApiRootPreset.CUSTOM:
            return self.custom_api_root.rstrip("/")
        return API_ROOTS[ApiRootPreset(self.api_root_preset)]


class TransactionState(models.TextChoices):
    """What a transaction means for the merchant, derived from SIBS's status and its operations."""

    PENDING = "pending", _("Pending")
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    AUTHORISED = "authorised", _("Authorised")
    PAID = "paid", _("Paid")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")
    CANCELLED = "cancelled", _("Cancelled")
    DECLINED = "declined", _("Declined")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")
    # A refund, capture or cancellation that went through (never "paid": no money came in).
    SUCCEEDED = "succeeded", _("Succeeded")
    UNKNOWN = "unknown", _("Unknown")


class ReferenceState(models.TextChoices):
    """Life of a MULTIBANCO reference. SIBS only sends PAID/UNPAID; expiry and cancellation come
    from ``paymentStatus: Expired`` and from cancellation operations."""

    UNPAID = ReferenceStatus.UNPAID.value, _("Unpaid")
    PAID = ReferenceStatus.PAID.value, _("Paid")
    EXPIRED = "EXPIRED", _("Expired")
    CANCELLED = "CANCELLED", _("Cancelled")


# Statuses the status sweeper asks SIBS about when no notification settles them. Partial (an
# abandoned 3-D Secure step) is included: nothing else would ever move it.
PENDING_STATUSES = frozenset(
    {PaymentStatus.PENDING.value, PaymentStatus.IN_PROCESSING.value, PaymentStatus.PARTIAL.value}
)


class Transaction(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="transactions")
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions")
    terminal = models.ForeignKey(Terminal, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions")
    # ``merchant.terminalId`` as sent, even when it matches none of the merchant's terminals.
    terminal_number = models.PositiveBigIntegerField(null=True, blank=True)
    terminal_unresolved = models.BooleanField(default=False)

    transaction_id = models.CharField(_("SIBS transaction id"), max_length=255)
    # A MULTIBANCO "paid" notification may carry another transactionID than the reference's
    # generation; the row keeps the first and records the other here (see ledger._locate).
    secondary_transaction_id = models.CharField(max_length=255, null=True, blank=True)
    merchant_transaction_id = models.CharField(_("merchant transaction id"), max_length=255, null=True, blank=True)
    internal_transaction_id = models.CharField(max_length=255, null=True, blank=True)

    payment_method = models.CharField(_("method"), max_length=40, blank=True)
    payment_type = models.CharField(_("type"), max_length=40, blank=True)
    payment_status = models.CharField(_("SIBS status"), max_length=40, blank=True)
    state = models.CharField(_("state"), max_length=24, choices=TransactionState.choices)
    amount = models.DecimalField(_("amount"), **MONEY, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    return_code = models.CharField(max_length=64, blank=True)
    return_message = models.CharField(max_length=255, blank=True)
    return_description = models.TextField(blank=True)
    transaction_datetime = models.DateTimeField(_("SIBS date"), null=True, blank=True)

    # MULTIBANCO reference
    reference_entity = models.CharField(max_length=20, blank=True)
    reference_number = models.CharField(max_length=40, blank=True)
    reference_payment_entity = models.CharField(max_length=20, blank=True)
    reference_amount = models.DecimalField(**MONEY, null=True, blank=True)
    reference_expiry = models.DateTimeField(null=True, blank=True)
    reference_status = models.CharField(max_length=12, choices=ReferenceState.choices, blank=True)
    reference_paid_at = models.DateTimeField(null=True, blank=True)

    # Tokens and aliases are stored masked only: the clear values stay in the encrypted inbound row.
    token_type = models.CharField(max_length=40, blank=True)
    token_masked = models.CharField(max_length=64, blank=True)
    mbway_alias_masked = models.CharField(max_length=64, blank=True)
    # The last digits of the MB WAY phone alias (what the mask shows), for the list's search box.
    mbway_alias_last_digits = models.CharField(max_length=4, blank=True)

    # MB WAY authorised payment (mandate)
    mandate_id = models.CharField(max_length=255, blank=True)
    mandate_action = models.CharField(max_length=20, blank=True)
    mandate_action_status = models.CharField(max_length=20, blank=True)
    mandate_type = models.CharField(max_length=20, blank=True)
    mandate_client_name = models.CharField(max_length=255, blank=True)
    mandate_expiration_date = models.DateField(null=True, blank=True)
    mandate_amount_limit = models.DecimalField(**MONEY, null=True, blank=True)

    # MIT / CIT
    mit_type = models.CharField(max_length=20, blank=True)
    mit_amount_qualifier = models.CharField(max_length=20, blank=True)
    mit_validity_date = models.DateTimeField(null=True, blank=True)
    mit_schedule = models.JSONField(null=True, blank=True)

    # Static QR code (QR Code Express) purchase: product, billing and expedition data as sent.
    qr_code_id = models.CharField(max_length=64, blank=True)
    qr_purchase = models.JSONField(null=True, blank=True)

    # Operations (refund, capture, cancellation…) point at the payment they act on.
    original = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="operations")
    original_transaction_ref = models.CharField(max_length=255, blank=True)
    original_unresolved = models.BooleanField(default=False)

    # Balances of a payment, recomputed from its own status and its successful operations.
    authorised_amount = models.DecimalField(**MONEY, default=ZERO)
    captured_amount = models.DecimalField(**MONEY, default=ZERO)
    refunded_amount = models.DecimalField(**MONEY, default=ZERO)
    cancelled_amount = models.DecimalField(**MONEY, default=ZERO)

    # Anything odd worth a human look (unknown terminal, unmatched reference payment, type
    # conflict, parser warnings…), as short strings.
    warnings = models.JSONField(default=list, blank=True)
    # The payload (tokens masked) of the notification or inquiry that last changed this row.
    last_payload = models.JSONField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Wall-clock time of the last write to the row, whatever wrote it (``save()`` sets it, even
    # with ``update_fields``): what open transaction lists poll for. ``updated_at`` is the time
    # of the notification that last changed the row, which may be older than the write.
    changed_at = models.DateTimeField(default=timezone.now)
    # When the status sweeper should next ask SIBS; null once the status is final.
    next_inquiry_at = models.DateTimeField(null=True, blank=True)
    last_inquiry_at = models.DateTimeField(null=True, blank=True)
    inquiry_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        constraints = [
            # Per merchant, not global: a tenant must not be able to pre-empt another tenant's
            # transaction by posting a forged one with the same id to their own inbound URL.
            models.UniqueConstraint(fields=["merchant", "transaction_id"], name="transaction_unique_per_merchant"),
        ]
        indexes = [
            models.Index(fields=["merchant", "-created_at"], name="txn_merchant_created"),
            models.Index(fields=["merchant", "-transaction_datetime"], name="txn_merchant_sibs_date"),
            models.Index(fields=["merchant", "state", "-created_at"], name="txn_merchant_state"),
            models.Index(fields=["merchant", "payment_method", "-created_at"], name="txn_merchant_method"),
            models.Index(fields=["store", "-created_at"], name="txn_store_created"),
            models.Index(fields=["terminal", "-created_at"], name="txn_terminal_created"),
            models.Index(fields=["merchant", "secondary_transaction_id"], name="txn_merchant_secondary"),
            models.Index(fields=["merchant", "reference_number"], name="txn_merchant_reference"),
            models.Index(fields=["merchant", "original_transaction_ref"], name="txn_merchant_original_ref"),
            models.Index(
                fields=["next_inquiry_at"], condition=Q(next_inquiry_at__isnull=False), name="txn_inquiry_due"
            ),
            # The transaction list (payments/listing.py): search by amount and by MB WAY phone
            # digits in list order, search by internal id, and the live poll of open lists.
            models.Index(fields=["merchant", "amount", "-created_at"], name="txn_merchant_amount"),
            models.Index(fields=["merchant", "mbway_alias_last_digits", "-created_at"], name="txn_merchant_alias"),
            models.Index(fields=["merchant", "internal_transaction_id"], name="txn_merchant_internal"),
            models.Index(fields=["merchant", "changed_at"], name="txn_merchant_changed"),
            # Search by an id or the start of one (payments/selectors/listing.py, Search.prefix):
            # on PostgreSQL the pattern operator class serves both = and LIKE 'ORD-2612%'
            # whatever the database collation; other databases ignore opclasses.
            models.Index(
                fields=["merchant", "transaction_id"],
                name="txn_merchant_tid_prefix",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            models.Index(
                fields=["merchant", "merchant_transaction_id"],
                name="txn_merchant_mtid_prefix",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.transaction_id

    def save(self, *args, **kwargs):
        self.changed_at = timezone.now()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "changed_at"}
        super().save(*args, **kwargs)

    @property
    def is_operation(self) -> bool:
        return is_operation_type(self.payment_type)

    @property
    def refundable_amount(self) -> Decimal:
        """What can still be refunded: captured, minus refunds done and refunds requested but
        not settled yet (reserved, awaiting approval, in flight or unknown)."""
        return max(ZERO, self.captured_amount - self.refunded_amount - self.held_amount(OperationKind.REFUND))

    @property
    def capturable_amount(self) -> Decimal:
        """What can still be captured (or cancelled) of an authorisation: authorised, minus
        captures and cancellations done and those requested but not settled yet."""
        if self.payment_type != PaymentType.AUTHORISATION:
            return ZERO
        held = self.held_amount(OperationKind.CAPTURE) + self.held_amount(OperationKind.CANCELLATION)
        return max(ZERO, self.authorised_amount - self.captured_amount - self.cancelled_amount - held)

    def held_amount(self, kind: str) -> Decimal:
        """Amount of staff-requested operations of ``kind`` on this payment not settled yet."""
        return self.held_amounts().get(kind, ZERO)

    def held_amounts(self) -> dict[str, Decimal]:
        """Held amounts per operation kind, in one query, kept on this instance until
        ``refresh_from_db`` (a page asks for refundable, capturable and every action's limit).
        Code that must see the latest, like a new request, reads a freshly locked row."""
        if self.pk is None:
            return {}
        held = self.__dict__.get("_held_amounts")
        if held is None:
            rows = (
                PaymentOperation.objects.filter(original_id=self.pk, state__in=HELD_STATES)
                .values("kind")
                .annotate(total=models.Sum("amount"))
                .order_by()
            )
            held = {row["kind"]: row["total"] or ZERO for row in rows}
            self.__dict__["_held_amounts"] = held
        return held

    def refresh_from_db(self, *args, **kwargs):
        self.__dict__.pop("_held_amounts", None)
        super().refresh_from_db(*args, **kwargs)


def is_operation_type(payment_type: str | None) -> bool:
    try:
        return PaymentType(payment_type).is_operation_on_original
    except ValueError:
        return False


class EventKind(models.TextChoices):
    NOTIFICATION = "notification", _("Notification")
    STATUS_INQUIRY = "status_inquiry", _("Status inquiry")
    OPERATION = "operation", _("Operation")


class EventOutcome(models.TextChoices):
    APPLIED = "applied", _("Applied")
    # The same status again (SIBS re-sends; a second inquiry gives the same answer).
    DUPLICATE = "duplicate", _("Duplicate")
    # Not applied: a status of lower (or equal, but different) precedence than the stored one.
    IGNORED = "ignored", _("Ignored by precedence")
    ERROR = "error", _("Error")


class TransactionEvent(models.Model):
    """One line of a transaction's timeline: a notification, a status inquiry, or an operation."""

    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="events")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    outcome = models.CharField(max_length=12, choices=EventOutcome.choices)
    # Arrived after a state SIBS reached later (its status ranks below the stored one).
    out_of_order = models.BooleanField(default=False)
    # When it reached us (received_at of the notification, time of the inquiry).
    occurred_at = models.DateTimeField(default=timezone.now)
    sibs_datetime = models.DateTimeField(null=True, blank=True)
    inbound = models.ForeignKey(
        "webhooks.InboundNotification", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    notification_id = models.CharField(max_length=255, blank=True)
    # For an "operation" line on a payment's timeline: the operation's own transaction.
    related_transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payment_status = models.CharField(max_length=40, blank=True)
    payment_type = models.CharField(max_length=40, blank=True)
    return_code = models.CharField(max_length=64, blank=True)
    return_message = models.CharField(max_length=255, blank=True)
    amount = models.DecimalField(**MONEY, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    detail = models.TextField(blank=True)
    payload = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name = _("transaction event")
        verbose_name_plural = _("transaction events")
        constraints = [
            # A notification lands once on a transaction's timeline, however often it is processed.
            models.UniqueConstraint(
                fields=["transaction", "inbound"], condition=Q(inbound__isnull=False), name="event_once_per_inbound"
            ),
        ]
        indexes = [models.Index(fields=["transaction", "occurred_at", "id"], name="event_timeline")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.payment_status} ({self.get_outcome_display()})"


# --------------------------------------------------------------------------- staff operations


class OperationKind(models.TextChoices):
    REFUND = "refund", _("Refund")
    CAPTURE = "capture", _("Capture")
    CANCELLATION = "cancellation", _("Cancellation")


class OperationState(models.TextChoices):
    """Life of a refund, capture or cancellation asked for by staff (or an API key).

    reserved -> in_flight -> succeeded | declined | failed | unknown (-> settled by the status
    inquiry or the operation's notification); a refund above the merchant's four-eyes threshold
    starts as pending_approval -> reserved (approved) | rejected.
    """

    RESERVED = "reserved", _("Reserved")
    PENDING_APPROVAL = "pending_approval", _("Awaiting approval")
    IN_FLIGHT = "in_flight", _("Sent to SIBS")
    SUCCEEDED = "succeeded", _("Succeeded")
    DECLINED = "declined", _("Declined")
    UNKNOWN = "unknown", _("Outcome unknown")
    FAILED = "failed", _("Failed")
    REJECTED = "rejected", _("Rejected")


# States whose amount is held against the payment's balance (not settled yet).
HELD_STATES = (
    OperationState.RESERVED,
    OperationState.PENDING_APPROVAL,
    OperationState.IN_FLIGHT,
    OperationState.UNKNOWN,
)


class OperationReason(models.TextChoices):
    CUSTOMER_REQUEST = "customer_request", _("Customer request")
    RETURNED_GOODS = "returned_goods", _("Goods returned")
    NOT_DELIVERED = "not_delivered", _("Not delivered")
    DUPLICATE = "duplicate", _("Duplicate payment")
    WRONG_AMOUNT = "wrong_amount", _("Wrong amount charged")
    SUSPECTED_FRAUD = "suspected_fraud", _("Suspected fraud")
    SHIPPED = "shipped", _("Order shipped")
    PARTIAL_SHIPMENT = "partial_shipment", _("Partial shipment")
    ORDER_CANCELLED = "order_cancelled", _("Order cancelled")
    OTHER = "other", _("Other")


class OperationPolicy(models.Model):
    """Per-merchant rules for money operations."""

    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="operation_policy")
    # Refunds above this amount need a second person's approval (four eyes); null = never.
    four_eyes_threshold = models.DecimalField(_("four-eyes threshold for refunds"), **MONEY, null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("operation policy")
        verbose_name_plural = _("operation policies")

    def __str__(self) -> str:
        return f"{self.merchant} · {self.four_eyes_threshold}"


class PaymentOperation(models.Model):
    """A refund, capture or cancellation requested from the backoffice, from the reservation of
    its amount to SIBS's final word. The money movement itself, once SIBS reports it, is the
    ``result`` Transaction (linked to ``original`` like any operation)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="payment_operations")
    original = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="operation_requests")
    kind = models.CharField(_("operation"), max_length=12, choices=OperationKind.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(max_length=3)
    state = models.CharField(_("state"), max_length=16, choices=OperationState.choices)

    # The client's key (form token or Idempotency-Key header) and a hash of what it asked, so a
    # key reused for a different request is refused rather than answered with another's result.
    idempotency_key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    # merchant.merchantTransactionId sent to SIBS: how the status inquiry and the notification
    # find this operation when its answer was lost.
    gateway_reference = models.CharField(max_length=64, unique=True)

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_by_key = models.ForeignKey(
        "backoffice.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The person an API key acts for: whoever created it. Kept on the operation (the key's own
    # creator may be cleared later) so four eyes can refuse them as the approver.
    requested_by_key_creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_by_label = models.CharField(max_length=255, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=32, choices=OperationReason.choices)
    comment = models.TextField(_("comment"), blank=True)

    request_body = models.JSONField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    return_code = models.CharField(max_length=64, blank=True)
    return_message = models.CharField(max_length=255, blank=True)
    # What happened, in words, for the people reading the page (catalogue text or transport error).
    outcome_detail = models.TextField(blank=True)
    result = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="operation_request"
    )

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    # When an unknown outcome is next asked about (status inquiry by merchantTransactionId).
    next_inquiry_at = models.DateTimeField(null=True, blank=True)
    inquiry_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("payment operation")
        verbose_name_plural = _("payment operations")
        constraints = [
            models.UniqueConstraint(fields=["merchant", "idempotency_key"], name="operation_idempotency_per_merchant"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="operation_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["original", "kind", "state"], name="operation_original_held"),
            models.Index(
                fields=["next_inquiry_at"], condition=Q(next_inquiry_at__isnull=False), name="operation_inquiry_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency} ({self.state})"

    @property
    def is_held(self) -> bool:
        return self.state in HELD_STATES


# --------------------------------------------------------------------------- saved list views


class SavedView(models.Model):
    """A named set of transaction-list filters: private to its owner, or shared with the
    merchant's team. ``query`` is the list's query string, normalised by ``payments.selectors.listing``."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="saved_views")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(max_length=2000, blank=True)
    shared = models.BooleanField(_("shared with the team"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = [Lower("name"), "pk"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [
            models.UniqueConstraint(Lower("name"), "merchant", "owner", name="saved_view_name_unique_per_owner"),
        ]
        indexes = [models.Index(fields=["merchant", "shared"], name="saved_view_merchant_shared")]

    def __str__(self) -> str:
        return self.name


# Sub-packages' models belong to this app (and its migrations): the dashboards' rollups,
# payment methods per terminal, payment requests (server-to-server checkout).
from payments.dashboards.models import Rollup, RollupDirty  # noqa: E402, F401
from payments.methods.models import (  # noqa: E402, F401
    MethodCheck,
    MethodRequest,
    MethodRequestEvent,
    MethodSetting,
    PaymentEntity,
)
from payments.requests.models import PaymentRequest  # noqa: E402, F401
