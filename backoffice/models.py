"""The core domain: merchants > stores > terminals, people, memberships, onboarding, audit."""

from __future__ import annotations

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.roles import Role


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username: str) -> User:
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Identified by e-mail; there are no usernames."""

    email = models.EmailField(_("e-mail"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    language = models.CharField(_("language"), max_length=8, default="en")
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("platform staff"), default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    # Lockout after repeated failed logins (PCI DSS v4 8.3.4); see auth_backends.
    failed_login_count = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_merchant = models.ForeignKey("Merchant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    @property
    def display_name(self) -> str:
        return self.full_name or self.email


class Merchant(models.Model):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("short name"), max_length=50, unique=True, help_text=_("Used in addresses."))
    legal_name = models.CharField(_("legal name"), max_length=200)
    nif = models.CharField(
        _("tax number (NIF)"),
        max_length=9,
        validators=[RegexValidator(r"^\d{9}$", _("A Portuguese NIF has 9 digits."))],
    )
    language = models.CharField(_("language"), max_length=8, default="pt")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.nif and self.nif.isdigit() and len(self.nif) == 9 and not nif_is_valid(self.nif):
            raise ValidationError({"nif": _("This NIF's check digit is not valid.")})


def nif_is_valid(nif: str) -> bool:
    """Portuguese NIF mod-11 check digit."""
    if len(nif) != 9 or not nif.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(nif[:8], range(9, 1, -1), strict=True))
    check = 11 - total % 11
    return int(nif[8]) == (0 if check >= 10 else check)


class Store(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="stores")
    name = models.CharField(_("name"), max_length=120)
    code = models.SlugField(_("code"), max_length=50)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["merchant", "name"]
        constraints = [models.UniqueConstraint(fields=["merchant", "code"], name="store_code_unique_per_merchant")]
        verbose_name = _("store")
        verbose_name_plural = _("stores")

    def __str__(self) -> str:
        return self.name


class Terminal(models.Model):
    """A SIBS terminal. ``terminal_id`` is the numeric ``terminalId`` the gateway sends."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="terminals")
    # Denormalised from the store so every transaction query can scope by merchant cheaply.
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="terminals", editable=False)
    terminal_id = models.PositiveBigIntegerField(_("SIBS terminal id"), unique=True)
    name = models.CharField(_("name"), max_length=120)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["terminal_id"]
        verbose_name = _("terminal")
        verbose_name_plural = _("terminals")

    def __str__(self) -> str:
        return f"{self.terminal_id} · {self.name}"

    def save(self, *args, **kwargs) -> None:
        self.merchant_id = self.store.merchant_id
        super().save(*args, **kwargs)


class Membership(models.Model):
    """Ties a user to a merchant with one role, optionally limited to some stores."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    # Empty means every store of the merchant, including stores added later.
    stores = models.ManyToManyField(Store, blank=True, related_name="+")
    is_active = models.BooleanField(default=True)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "merchant"], name="one_membership_per_merchant")]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.merchant} ({self.get_role_display()})"

    @property
    def is_store_limited(self) -> bool:
        return bool(self.store_ids)

    @property
    def store_ids(self) -> frozenset[int]:
        """Stores this membership is limited to; empty for the whole merchant. Cached per instance."""
        cached = getattr(self, "_store_ids", None)
        if cached is None:
            cached = frozenset(self.stores.values_list("id", flat=True)) if self.pk else frozenset()
            self._store_ids = cached
        return cached


class ActivationCode(models.Model):
    """A one-time code that lets an invited person choose a password (SIBS Backoffice onboarding)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="activation_codes")
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"activation code for {self.user} ({self.created_at:%Y-%m-%d})"


class AuditEvent(models.Model):
    """Append-only record of a state-changing action: who, what, before/after, when, from where."""

    merchant = models.ForeignKey(Merchant, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Kept as text too, so the record still says who acted after a user is deleted.
    actor_label = models.CharField(max_length=254)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["merchant", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValidationError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Audit events are append-only.")


class ApiKey(models.Model):
    """A per-merchant API key carrying a role. Only a hash is stored; the key is shown once."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    stores = models.ManyToManyField(Store, blank=True, related_name="+")
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
