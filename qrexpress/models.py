"""QR Code Express: products (one static QR code each), their stock ledger, purchases, bulk imports.

* :class:`QrProduct` — a QR Code Express of one terminal. ``stock_units`` is the sum of its
  ledger and only ever changes through :mod:`qrexpress.services.stock` (a conditional ``UPDATE``
  whose row count is checked, in the same transaction as the ledger row).
* :class:`StockEntry` — append-only ledger: who or what changed the stock, by how much, why, and
  the resulting units.
* :class:`Purchase` — one per SIBS transaction (``STATIC_QRCODE`` notification), with the buyer's
  details and a fulfilment state the merchant moves (history in :class:`FulfilmentChange`).
* :class:`StockApiSettings` — the paths of SIBS's stock API per gateway credential (SIBS does not
  publish them; the sandbox's are the default).
* :class:`BulkImport` — an uploaded ``QRCodeImportTemplate`` file, its dry run and its outcome.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.models import Merchant, Store, Terminal

MONEY = {"max_digits": 12, "decimal_places": 2}
QR_CODE_ID_MAX = 36
DESCRIPTION_MAX = 100
PRODUCT_NAME_MAX = 100


class ProductStatus(models.TextChoices):
    ACTIVE = "ACT", _("Active")
    SUSPENDED = "SUS", _("Suspended")


class QrProduct(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="qr_products")
    # Denormalised from the terminal: store-limited people are scoped without a join.
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+", editable=False)
    terminal = models.ForeignKey(Terminal, on_delete=models.PROTECT, related_name="qr_products")
    qr_code_id = models.CharField(_("QR Code ID"), max_length=QR_CODE_ID_MAX)
    product_name = models.CharField(_("product name (shown in MB WAY)"), max_length=PRODUCT_NAME_MAX)
    description = models.CharField(_("internal description"), max_length=DESCRIPTION_MAX)
    price = models.DecimalField(_("price"), **MONEY)
    expedition_amount = models.DecimalField(_("shipping amount"), **MONEY, default=0)
    currency = models.CharField(max_length=3, default="EUR")
    two_step_purchase = models.BooleanField(_("two-step purchase"), default=False)
    stock_managed = models.BooleanField(_("manage stock"), default=True)
    stock_units = models.PositiveIntegerField(_("stock units"), default=0)
    expires_on = models.DateField(_("expiry date"), null=True, blank=True)
    collect_tax_number = models.BooleanField(_("collect tax number"), default=False)
    collect_billing_address = models.BooleanField(_("collect billing address"), default=False)
    collect_shipping_address = models.BooleanField(_("collect shipping address"), default=True)
    collect_phone = models.BooleanField(_("collect phone"), default=True)
    collect_email = models.BooleanField(_("collect e-mail"), default=False)
    support_contact = models.CharField(_("customer support contact"), max_length=100, blank=True)
    terms_url = models.URLField(_("terms and conditions link"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=3, choices=ProductStatus.choices, default=ProductStatus.ACTIVE)
    # What the QR code encodes: the sandbox purchase page, or the string SIBS gave the merchant.
    qr_content = models.TextField(_("QR code content"), blank=True)
    # Or the QR image SIBS Backoffice gave, as uploaded (PNG only: an uploaded SVG could carry script).
    qr_image_png = models.BinaryField(null=True, blank=True, editable=False)

    # Guardrails.
    low_stock_threshold = models.PositiveIntegerField(_("low-stock threshold"), null=True, blank=True)
    low_stock_alerted = models.BooleanField(default=False)
    auto_suspend = models.BooleanField(_("suspend when the stock runs out"), default=False)
    auto_reactivate = models.BooleanField(_("reactivate when stock is added"), default=False)
    suspended_for_stock = models.BooleanField(default=False)
    expiry_reminded_on = models.DateField(null=True, blank=True)

    # SIBS's side of the stock, from the last stock sync or stock API call.
    sibs_units = models.IntegerField(null=True, blank=True)
    sibs_checked_at = models.DateTimeField(null=True, blank=True)
    stock_drift = models.IntegerField(null=True, blank=True)
    sibs_error = models.CharField(max_length=300, blank=True)

    # Created through the API: the client's Idempotency-Key and a hash of what it asked.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["product_name", "pk"]
        verbose_name = _("QR Code Express product")
        verbose_name_plural = _("QR Code Express products")
        constraints = [
            models.UniqueConstraint(fields=["merchant", "qr_code_id"], name="qr_product_code_unique_per_merchant"),
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="qr_product_idempotency_per_merchant",
            ),
            models.CheckConstraint(condition=Q(stock_units__gte=0), name="qr_product_stock_not_negative"),
            models.CheckConstraint(condition=Q(price__gt=0), name="qr_product_price_positive"),
            models.CheckConstraint(condition=Q(expedition_amount__gte=0), name="qr_product_expedition_not_negative"),
        ]
        indexes = [models.Index(fields=["merchant", "status"], name="qr_product_merchant_status")]

    def __str__(self) -> str:
        return f"{self.product_name} ({self.qr_code_id})"

    def save(self, *args, **kwargs) -> None:
        self.store_id = self.terminal.store_id
        self.merchant_id = self.terminal.merchant_id
        super().save(*args, **kwargs)

    @property
    def has_drift(self) -> bool:
        return bool(self.stock_drift)

    @property
    def is_expired(self) -> bool:
        return self.expires_on is not None and self.expires_on < timezone.localdate()

    @property
    def is_low(self) -> bool:
        return (
            self.stock_managed and self.low_stock_threshold is not None and self.stock_units <= self.low_stock_threshold
        )


class StockSource(models.TextChoices):
    PERSON = "person", _("Person")
    API = "api", _("API")
    PURCHASE = "purchase", _("Purchase")
    REFUND = "refund", _("Refund")
    BULK = "bulk", _("Bulk file")
    CREATION = "creation", _("Product created")


class StockEntry(models.Model):
    """One change of a product's stock. Append-only: a correction is a new row."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(QrProduct, on_delete=models.PROTECT, related_name="ledger")
    source = models.CharField(_("source"), max_length=10, choices=StockSource.choices)
    delta = models.IntegerField(_("change"))
    units_after = models.PositiveIntegerField(_("resulting units"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254)
    purchase = models.ForeignKey("Purchase", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # API stock operations: the client's Idempotency-Key and a hash of what it asked.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("stock entry")
        verbose_name_plural = _("stock entries")
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="qr_stock_idempotency_per_merchant",
            ),
        ]
        indexes = [models.Index(fields=["product", "-created_at"], name="qr_stock_product_created")]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.delta:+d} -> {self.units_after}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValidationError("Stock entries are append-only.")
        super().save(*args, **kwargs)


class FulfilmentState(models.TextChoices):
    NEW = "new", _("New")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    REFUNDED = "refunded", _("Refunded")


class Purchase(models.Model):
    """A QR Code Express sale, recorded once per SIBS transaction."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Null when SIBS reports a QR code the backoffice does not know: still recorded.
    product = models.ForeignKey(QrProduct, null=True, blank=True, on_delete=models.PROTECT, related_name="purchases")
    transaction = models.OneToOneField(
        "payments.Transaction", on_delete=models.PROTECT, related_name="qr_purchase_record"
    )
    qr_code_id = models.CharField(max_length=64)
    product_name = models.CharField(max_length=200, blank=True)
    quantity = models.PositiveIntegerField()
    unit_amount = models.DecimalField(**MONEY, null=True, blank=True)
    expedition_amount = models.DecimalField(**MONEY, null=True, blank=True)
    amount = models.DecimalField(**MONEY, null=True, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    # Units SIBS sold that the stock did not have: to refund or ship anyway.
    oversold_units = models.PositiveIntegerField(default=0)
    billing_tin = models.CharField(max_length=20, blank=True)
    billing_address = models.JSONField(default=dict, blank=True)
    shipping_name = models.CharField(max_length=200, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.CharField(max_length=254, blank=True)
    fulfilment = models.CharField(max_length=10, choices=FulfilmentState.choices, default=FulfilmentState.NEW)
    purchased_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-purchased_at", "-pk"]
        verbose_name = _("QR Code Express purchase")
        verbose_name_plural = _("QR Code Express purchases")
        indexes = [
            models.Index(fields=["merchant", "-purchased_at"], name="qr_purchase_merchant_date"),
            models.Index(fields=["product", "-purchased_at"], name="qr_purchase_product_date"),
        ]

    def __str__(self) -> str:
        return f"{self.qr_code_id} x {self.quantity}"

    @property
    def oversold(self) -> bool:
        return self.oversold_units > 0


class FulfilmentChange(models.Model):
    purchase = models.ForeignKey(Purchase, on_delete=models.CASCADE, related_name="fulfilment_history")
    from_state = models.CharField(max_length=10, choices=FulfilmentState.choices)
    to_state = models.CharField(max_length=10, choices=FulfilmentState.choices)
    note = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_state} -> {self.to_state}"


class StockApiSettings(models.Model):
    """Where SIBS's stock API lives for one gateway credential. The paths are relative to the
    credential's API root; ``{qrCodeId}`` and ``{terminal}`` are filled in when present."""

    credential = models.OneToOneField(
        "payments.GatewayCredential", on_delete=models.CASCADE, related_name="qr_stock_api"
    )
    add_path = models.CharField(max_length=200, default="/qrcode-express/stock/add")
    remove_path = models.CharField(max_length=200, default="/qrcode-express/stock/remove")
    define_path = models.CharField(max_length=200, default="/qrcode-express/stock/define")
    obtain_path = models.CharField(max_length=200, default="/qrcode-express/stock")

    class Meta:
        verbose_name = _("stock API settings")
        verbose_name_plural = _("stock API settings")

    def __str__(self) -> str:
        return f"stock API of {self.credential}"


class BulkImportState(models.TextChoices):
    PREVIEWED = "previewed", _("Checked, waiting for confirmation")
    APPLIED = "applied", _("Applied")
    REFUSED = "refused", _("Refused")


class BulkImport(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(max_length=200)
    content = models.TextField()
    # The dry run: one item per row, with what will change or the row's errors.
    plan = models.JSONField(default=list)
    error_count = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=BulkImportState.choices, default=BulkImportState.PREVIEWED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.file_name
