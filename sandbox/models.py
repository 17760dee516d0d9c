"""State of the SIBS Gateway v2 simulator.

Nothing here is real money: these rows are what the simulated gateway knows, kept apart from the
backoffice's own ``payments`` tables so that the sandbox behaves like a remote system (it can even
run against its own database, see ``sandbox/README.md``).

* :class:`SandboxMerchant` — a gateway client: ``X-IBM-Client-Id``, bearer token, terminals, and
  where (and how) its notifications go.
* :class:`SandboxPayment` — a checkout and what became of it (SIBS ``transactionID``).
* :class:`SandboxOperation` — a refund, capture or cancellation on a payment: a new row, with its
  own ``transactionID``, never an edit of the payment's history.
* :class:`SandboxNotification` / :class:`SandboxDeliveryAttempt` — the outbox: the plaintext
  notification, written in the same transaction as the state change, and every try at
  delivering it.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from backoffice.crypto import EncryptedTextField
from payments.sibs import PaymentStatus

ZERO = Decimal("0.00")


class NotificationStyle(models.TextChoices):
    """How faithfully the notifications reproduce the quirks of real SIBS payloads (PROTOCOL.md §5)."""

    PLAIN = "plain", "Plain: amounts as numbers with two decimals, terminalId a number"
    QLY = "qly", "QLY docs: shortest numbers (15.9, 20), terminalId a number, no millis"
    DOC_PT = "doc-pt", "DOC-PT examples: amounts and terminalId as strings, trailing space in dates"
    MIXED = "mixed", "Mixed: each notification picks one of the above at random"


class AckExpectation(models.TextChoices):
    """Which acknowledgement bodies count as delivered (PROTOCOL.md §1.3)."""

    ANY = "any", 'Any documented one: "200", "000" or the number 200'
    CODE_200 = "200", 'Only statusCode "200" (DOC-PT)'
    CODE_000 = "000", 'Only statusCode "000" (DOC-QLY)'


class SandboxMerchant(models.Model):
    """A client of the simulated gateway. Configure with :func:`sandbox.services.sandbox_configure`."""

    client_id = models.CharField(max_length=64, unique=True, help_text="X-IBM-Client-Id")
    bearer_token = EncryptedTextField(help_text="The AuthToken sent as 'Authorization: Bearer …'.")
    merchant_name = models.CharField(max_length=100)
    terminal_ids = models.JSONField(default=list, help_text="Terminal ids (integers) this client may use.")
    notification_url = models.URLField(max_length=500, blank=True, help_text="Empty: no notifications are sent.")
    notification_secret = EncryptedTextField(blank=True, help_text="Base64 of 32 bytes, as in SIBS Backoffice.")
    notification_style = models.CharField(
        max_length=8, choices=NotificationStyle.choices, default=NotificationStyle.MIXED
    )
    ack_expectation = models.CharField(max_length=3, choices=AckExpectation.choices, default=AckExpectation.ANY)
    delivery_timeout_seconds = models.PositiveSmallIntegerField(default=10)
    retry_unit_seconds = models.PositiveIntegerField(
        default=1,
        help_text="Real seconds that one minute of SIBS's retry schedule lasts here (60 = SIBS's own pace).",
    )
    customer_delay_seconds = models.PositiveIntegerField(
        default=2, help_text="How long the simulated customer takes to answer MB WAY (0 = at once)."
    )
    reference_entity = models.CharField(max_length=5, default="24000", help_text="Default MULTIBANCO entity.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.merchant_name} ({self.client_id})"


class SandboxPayment(models.Model):
    """One checkout (``POST /payments``) and its execution."""

    class Kind(models.TextChoices):
        CHECKOUT = "checkout", "Checkout (POST /payments)"
        MIT = "mit", "Merchant-initiated charge"
        QRCODE = "qrcode", "Static QR code purchase"

    class ReferenceState(models.TextChoices):
        UNPAID = "UNPAID", "Unpaid"
        PAID = "PAID", "Paid"
        EXPIRED = "EXPIRED", "Expired"
        CANCELLED = "CANCELLED", "Cancelled"

    merchant = models.ForeignKey(SandboxMerchant, on_delete=models.CASCADE, related_name="payments")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.CHECKOUT)
    transaction_id = models.CharField(max_length=32, unique=True)
    # SHA-256 of the transactionSignature (the Digest credential of the execution calls).
    signature_hash = models.CharField(max_length=64, blank=True)
    internal_transaction_id = models.CharField(max_length=16, blank=True)
    terminal_id = models.PositiveBigIntegerField()
    merchant_transaction_id = models.CharField(max_length=64, null=True, blank=True)
    channel = models.CharField(max_length=16, default="web")
    description = models.CharField(max_length=255, blank=True)
    payment_type = models.CharField(max_length=4)  # PURS, AUTH, MITR
    payment_methods = models.JSONField(default=list)  # offered at checkout
    payment_method = models.CharField(max_length=16, blank=True)  # the one executed
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    return_code = models.CharField(max_length=16, default="000")
    return_message = models.CharField(max_length=32, default="Success")
    return_description = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)  # the checkout form's expiry
    executed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # MB WAY
    phone = models.CharField(max_length=24, blank=True)
    # Card and token
    card_masked_pan = models.CharField(max_length=19, blank=True)
    card_token = models.CharField(max_length=32, blank=True, db_index=True)
    card_outcome = models.CharField(max_length=16, blank=True)  # "3ds" while 3-D Secure is pending
    tokenise = models.BooleanField(default=False)  # issue a card token on success
    # MULTIBANCO
    reference_entity = models.CharField(max_length=5, blank=True)
    reference = models.CharField(max_length=9, blank=True)
    reference_status = models.CharField(max_length=9, choices=ReferenceState.choices, blank=True)
    reference_expires_at = models.DateTimeField(null=True, blank=True)
    # CIT set-up data (as sent at checkout) or the MIT's own; the CIT an MIT charges against.
    mit = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    original = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    # Static QR code purchase data, sent as is in the notification.
    financial_operation = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)

    # Money moved by operations, kept in step with SandboxOperation rows under a row lock.
    captured_amount = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    cancelled_amount = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)

    # What the simulated customer will do, and when (resolved by the tick task or on read).
    pending_outcome = models.CharField(max_length=16, blank=True)
    resolve_at = models.DateTimeField(null=True, blank=True, db_index=True)

    # The checkout (or MIT) body as received: unknown fields are kept, never acted upon.
    request_body = models.JSONField(default=dict, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The sandbox refuses a second checkout with the same merchantTransactionId on a
            # terminal, so status-by-merchantTransactionId is never ambiguous.
            models.UniqueConstraint(
                fields=["merchant", "terminal_id", "merchant_transaction_id"],
                condition=Q(merchant_transaction_id__isnull=False),
                name="sandbox_payment_unique_merchant_tx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_id} {self.payment_type} {self.amount} {self.currency} {self.status}"

    @property
    def is_authorisation(self) -> bool:
        return self.payment_type == "AUTH"

    @property
    def capturable_amount(self) -> Decimal:
        return max(ZERO, self.amount - self.captured_amount - self.cancelled_amount)

    @property
    def refundable_amount(self) -> Decimal:
        paid = self.captured_amount if self.is_authorisation else self.amount
        return max(ZERO, paid - self.refunded_amount)


class SandboxOperation(models.Model):
    """A refund, capture or cancellation: a new gateway transaction against a payment."""

    class Kind(models.TextChoices):
        REFUND = "refund", "Refund"
        CAPTURE = "capture", "Capture"
        CANCELLATION = "cancellation", "Cancellation"

    payment = models.ForeignKey(SandboxPayment, on_delete=models.CASCADE, related_name="operations")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    transaction_id = models.CharField(max_length=32, unique=True)
    merchant_transaction_id = models.CharField(max_length=64, blank=True)
    payment_type = models.CharField(max_length=4)  # RFND, CAPT, CAUT, CPRF
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    status = models.CharField(max_length=16, choices=PaymentStatus.choices)
    return_code = models.CharField(max_length=16)
    return_message = models.CharField(max_length=32)
    return_description = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()
    request_body = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    # The answer as sent, replayed verbatim when the same merchantTransactionId comes again.
    response_body = models.JSONField(default=dict, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "kind", "merchant_transaction_id"],
                condition=~Q(merchant_transaction_id=""),
                name="sandbox_operation_unique_merchant_tx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.transaction_id} {self.amount} {self.status}"


class SandboxNotification(models.Model):
    """The outbox: one encrypted notification to a merchant, written before any attempt to send it.

    ``payload`` is the plaintext JSON exactly as it is encrypted and sent (quirks included), so a
    test or an operator sees what the receiver saw. Delivery waits live in ``next_attempt_at``,
    never in broker countdowns: whatever is due is sent by the periodic tick.
    """

    merchant = models.ForeignKey(SandboxMerchant, on_delete=models.CASCADE, related_name="notifications")
    payment = models.ForeignKey(
        SandboxPayment, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    operation = models.ForeignKey(
        SandboxOperation, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    notification_id = models.CharField(max_length=64, unique=True)
    event = models.CharField(max_length=32)
    style = models.CharField(max_length=8, choices=NotificationStyle.choices)
    payload = models.TextField()
    created_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    given_up_at = models.DateTimeField(null=True, blank=True)
    last_http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event} {self.notification_id}"

    @property
    def state(self) -> str:
        if self.acknowledged_at:
            return "acknowledged"
        if self.given_up_at:
            return "given up"
        if self.attempts:
            return "retrying"
        return "queued"


class SandboxDeliveryAttempt(models.Model):
    """One POST of a notification, whatever came of it."""

    notification = models.ForeignKey(SandboxNotification, on_delete=models.CASCADE, related_name="delivery_attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    url = models.URLField(max_length=500)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    acknowledged = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)

    class Meta:
        ordering = ["notification_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["notification", "number"], name="sandbox_attempt_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.notification_id} #{self.number} {'ok' if self.acknowledged else self.reason}"


class SandboxTerminalMethods(models.Model):
    """The payment methods active at the gateway for one terminal: what ``POST /payments``
    answers in ``paymentMethodList`` (the methods asked for that are active here). A terminal
    without a row has the sandbox's default methods (``sandbox.gateway.CHECKOUT_METHODS``)."""

    merchant = models.ForeignKey(SandboxMerchant, on_delete=models.CASCADE, related_name="terminal_methods")
    terminal_id = models.PositiveBigIntegerField()
    methods = models.JSONField(default=list, help_text="SIBS paymentMethod codes, e.g. CARD, MBWAY, REFERENCE, XPAY.")

    class Meta:
        ordering = ["terminal_id"]
        verbose_name = "terminal's active methods"
        verbose_name_plural = "terminals' active methods"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "terminal_id"], name="sandbox_terminal_methods_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.terminal_id}: {', '.join(self.methods) or '—'}"


class SandboxQrCode(models.Model):
    """A QR Code Express of a client, as SIBS Backoffice would hold it, with its stock."""

    merchant = models.ForeignKey(SandboxMerchant, on_delete=models.CASCADE, related_name="qr_codes")
    qr_code_id = models.CharField(max_length=36, unique=True)
    terminal_id = models.PositiveBigIntegerField()
    product_name = models.CharField(max_length=100)
    description = models.CharField(max_length=100, blank=True)
    product_amount = models.DecimalField(max_digits=12, decimal_places=2)
    expedition_amount = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    stock_managed = models.BooleanField(default=True)
    stock_units = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=3, default="ACT")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(stock_units__gte=0), name="sandbox_qr_stock_not_negative")]

    def __str__(self) -> str:
        return f"{self.product_name} ({self.qr_code_id})"


class SandboxStockRequest(models.Model):
    """Every stock API call the sandbox accepted or refused; ``TPPRequest-ID`` is unique per call."""

    merchant = models.ForeignKey(SandboxMerchant, on_delete=models.CASCADE, related_name="+")
    request_id = models.CharField(max_length=64, unique=True)
    transaction_id = models.CharField(max_length=64)
    operation = models.CharField(max_length=8)
    qr_code_id = models.CharField(max_length=36)
    units = models.PositiveIntegerField(null=True, blank=True)
    status_code = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.operation} {self.qr_code_id} ({self.status_code})"
