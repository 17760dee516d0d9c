"""Method settings per scope and MULTIBANCO payment entities.

Every change of one merchant's method configuration runs under a lock on the merchant row: the
entity rule (a reference needs an active entity wherever it is enabled) depends on several rows
at once (a terminal inherits from its store and the merchant), so two changes at different
levels must not pass the check side by side.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice import audit
from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.models import Merchant, Store, Terminal
from backoffice.roles import Capability
from payments.methods.catalogue import SETTINGS, TEXT_SETTINGS, Method, label
from payments.methods.models import MethodSetting, PaymentEntity
from payments.methods.resolution import MERCHANT, STORE, TERMINAL, Configuration, Scope, reference_problem

MAX_VALIDITY_HOURS = 365 * 24
MAX_AMOUNT = Decimal("999999999.99")
MAX_URL = 300
MAX_COMPANY_NAME = 100


# --------------------------------------------------------------------------- scope and access


def scope_objects(*, merchant: Merchant, scope: Scope) -> tuple[Store | None, Terminal | None]:
    """The store or terminal a scope names, of this merchant; ValidationError otherwise."""
    if scope.level == STORE:
        store = Store.objects.filter(merchant=merchant, pk=scope.store_id).first()
        if store is None:
            raise ValidationError(_("That store does not belong to this merchant."))
        return store, None
    if scope.level == TERMINAL:
        terminal = Terminal.objects.filter(merchant=merchant, pk=scope.terminal_id).select_related("store").first()
        if terminal is None:
            raise ValidationError(_("That terminal does not belong to this merchant."))
        return None, terminal
    return None, None


def require_scope(access: Access, store: Store | None, terminal: Terminal | None) -> None:
    """Store-limited people change their stores and those stores' terminals, never the merchant."""
    store_id = store.pk if store else (terminal.store_id if terminal else None)
    if access.is_store_limited and (store_id is None or not access.allows_store(store_id)):
        raise PermissionDenied(_("You can only configure the stores you have access to."))


# --------------------------------------------------------------------------- values


def _url(field: str, value: Any) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if value not in (None, "") and not isinstance(value, str):
        raise ValidationError({field: _("Enter an https:// address.")})
    if not text:
        return ""
    if len(text) > MAX_URL:
        raise ValidationError({field: _("At most %(n)s characters.") % {"n": MAX_URL}})
    try:
        URLValidator(schemes=["https"])(text)
    except ValidationError:
        raise ValidationError({field: _("Enter an https:// address.")}) from None
    if "@" in text.split("/", 3)[2]:
        raise ValidationError({field: _("The address must not contain a user or password.")})
    return text


def _amount(field: str, value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: _("Enter an amount such as 10.00.")}) from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
        raise ValidationError({field: _("Enter an amount above 0.00 and up to 999999999.99.")})
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({field: _("At most two decimals.")})
    return amount.quantize(Decimal("0.01"))


def _clean(merchant: Merchant, method: str, values: dict[str, Any]) -> dict[str, Any]:
    allowed = {"enabled", *SETTINGS.get(method, ())}
    unknown = set(values) - allowed
    if unknown:
        raise ValidationError(_("These settings do not exist for this method: %(names)s") % {"names": sorted(unknown)})
    clean: dict[str, Any] = {}
    for field, value in values.items():
        if field in ("enabled", "card_tokenisation"):
            if value is not None and not isinstance(value, bool):
                raise ValidationError({field: _("Choose on, off or inherited.")})
            clean[field] = value
        elif field == "reference_entity":
            if value is None:
                clean[field] = None
            elif not isinstance(value, PaymentEntity) or value.merchant_id != merchant.pk:
                raise ValidationError({field: _("Choose one of this merchant's payment entities.")})
            elif not value.is_active:
                raise ValidationError({field: _("This payment entity is disabled.")})
            else:
                clean[field] = value
        elif field == "reference_validity_hours":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValidationError({field: _("Enter a whole number of hours.")})
            if value is not None and not 1 <= value <= MAX_VALIDITY_HOURS:
                raise ValidationError({field: _("Between 1 hour and 365 days.")})
            clean[field] = value
        elif field in ("reference_min_amount", "reference_max_amount"):
            clean[field] = _amount(field, value)
        elif field == "mandate_company_name":
            text = (value or "").strip() if isinstance(value, str) else ""
            if len(text) > MAX_COMPANY_NAME or not text.isprintable():
                raise ValidationError({field: _("Up to 100 printable characters.")})
            clean[field] = text
        elif field in TEXT_SETTINGS:
            clean[field] = _url(field, value)
    return clean


def _describe(row: MethodSetting | None) -> dict[str, Any]:
    if row is None:
        return {}
    out: dict[str, Any] = {"enabled": row.enabled}
    for field in SETTINGS.get(row.method, ()):
        value = getattr(row, field + "_id" if field == "reference_entity" else field)
        if isinstance(value, Decimal):
            value = f"{value:f}"
        if field == "reference_entity" and value is not None:
            value = row.reference_entity.entity
        out[field] = value
    return out


PROBLEMS = {
    "no_entity": lambda where: (
        _(
            "A MULTIBANCO reference needs a payment entity (SIBS's rule): %(where)s would have references enabled "
            "without one. Choose an entity, here or at a level it inherits from."
        )
        % {"where": where}
    ),
    "entity_disabled": lambda where: (
        _("%(where)s would issue references with a disabled payment entity. Choose an active one.") % {"where": where}
    ),
    "min_above_max": lambda where: _("At %(where)s the minimum amount would be above the maximum.") % {"where": where},
}


def check_reference_rule(
    config: Configuration, merchant: Merchant, scope: Scope, *, terminals: list[Terminal] | None = None
) -> None:
    """Every level at or below ``scope`` with references enabled has an active entity."""
    if terminals is None:
        terminals = list(Terminal.objects.filter(merchant=merchant).select_related("store"))
    checks: list[tuple[str, dict]] = []
    method = Method.REFERENCE.value
    if scope.level == MERCHANT:
        checks.append((_("the whole merchant"), config.resolve(scope, method)))
        for store in Store.objects.filter(merchant=merchant):
            checks.append((str(store), config.resolve(Scope(STORE, store_id=store.pk), method)))
    elif scope.level == STORE:
        checks.append((str(Store.objects.get(pk=scope.store_id)), config.resolve(scope, method)))
    for terminal in terminals:
        if scope.level == STORE and terminal.store_id != scope.store_id:
            continue
        if scope.level == TERMINAL and terminal.pk != scope.terminal_id:
            continue
        checks.append((_("terminal %(id)s") % {"id": terminal.terminal_id}, config.for_terminal(terminal, method)))
    for where, values in checks:
        problem = reference_problem(values)
        if problem:
            field = "reference_min_amount" if problem == "min_above_max" else "reference_entity"
            raise ValidationError({field: PROBLEMS[problem](where)})


def _configuration(merchant: Merchant) -> Configuration:
    return Configuration(list(MethodSetting.objects.filter(merchant=merchant).select_related("reference_entity")))


# --------------------------------------------------------------------------- settings


def setting_save(*, access: Access, actor: Actor, scope: Scope, method: str, values: dict[str, Any]) -> MethodSetting:
    """Set (or clear, with ``None`` / blank: inherit) a method's values at one scope."""
    access.require(Capability.MANAGE_PAYMENT_METHODS)
    store, terminal = scope_objects(merchant=access.merchant, scope=scope)
    require_scope(access, store, terminal)
    return setting_apply(merchant=access.merchant, actor=actor, scope=scope, method=method, values=values)


def setting_apply(
    *, merchant: Merchant, actor: Actor, scope: Scope, method: str, values: dict[str, Any]
) -> MethodSetting:
    """The change itself, for a person (through :func:`setting_save`) or the platform (a request
    becoming active). Validated, checked against the entity rule, audited."""
    if method not in Method.values:
        raise ValidationError(_("Unknown payment method."))
    store, terminal = scope_objects(merchant=merchant, scope=scope)
    clean = _clean(merchant, method, values)
    with transaction.atomic():
        Merchant.objects.select_for_update().filter(pk=merchant.pk).first()
        config = _configuration(merchant)
        row = config.own(scope, method)
        before = _describe(row)
        if row is None:
            row = MethodSetting(merchant=merchant, store=store, terminal=terminal, method=method)
        for field, value in clean.items():
            setattr(row, field, value)
        config.put(row)
        if method == Method.REFERENCE:
            check_reference_rule(config, merchant, scope)
        row.updated_by = actor.user
        row.updated_at = timezone.now()
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            raise ValidationError(_("Someone changed this setting at the same time. Please try again.")) from None
        after = _describe(row)
        if after != before:
            audit.record(
                actor=actor,
                action="payment_method.changed",
                merchant=merchant,
                obj=row,
                before={"scope": scope.key, "method": method, **before},
                after={"scope": scope.key, "method": method, **after},
            )
    return row


# --------------------------------------------------------------------------- entities


def _merchant_wide(access: Access) -> None:
    access.require(Capability.MANAGE_PAYMENT_METHODS)
    if access.is_store_limited:
        raise PermissionDenied(_("Payment entities are configured for the whole merchant."))


def entity_create(*, access: Access, actor: Actor, entity: str, description: str = "") -> PaymentEntity:
    _merchant_wide(access)
    entity = (entity or "").strip()
    description = (description or "").strip()
    if not (len(entity) == 5 and entity.isascii() and entity.isdigit()):
        raise ValidationError({"entity": _("A payment entity has 5 digits, e.g. 21234.")})
    if len(description) > 100 or not description.isprintable():
        raise ValidationError({"description": _("Up to 100 printable characters.")})
    taken = _("This entity is already registered.")
    if PaymentEntity.objects.filter(merchant=access.merchant, entity=entity).exists():
        raise ValidationError({"entity": taken})
    try:
        with transaction.atomic():
            row = PaymentEntity.objects.create(
                merchant=access.merchant, entity=entity, description=description, created_by=actor.user
            )
            audit.record(
                actor=actor,
                action="payment_entity.created",
                merchant=access.merchant,
                obj=row,
                after={"entity": entity, "description": description},
            )
    except IntegrityError:
        raise ValidationError({"entity": taken}) from None
    return row


def entity_disable(*, access: Access, actor: Actor, entity: PaymentEntity) -> None:
    """Disable an entity, unless a terminal or level with references enabled still uses it."""
    _merchant_wide(access)
    if entity.merchant_id != access.merchant.pk:
        raise PermissionDenied
    with transaction.atomic():
        Merchant.objects.select_for_update().filter(pk=access.merchant.pk).first()
        current = PaymentEntity.objects.select_for_update().get(pk=entity.pk)
        if not current.is_active:
            return  # already done
        current.is_active = False
        config = _configuration(access.merchant)
        for row in config.rows.values():
            if row.reference_entity_id == current.pk:
                row.reference_entity = current
        try:
            check_reference_rule(config, access.merchant, Scope(MERCHANT))
        except ValidationError:
            raise ValidationError(
                _(
                    "Entity %(entity)s is still used where MULTIBANCO references are enabled. Choose another "
                    "entity there, or turn references off, first."
                )
                % {"entity": current.entity}
            ) from None
        current.disabled_at = timezone.now()
        current.save(update_fields=["is_active", "disabled_at"])
        audit.record(
            actor=actor,
            action="payment_entity.disabled",
            merchant=access.merchant,
            obj=current,
            before={"active": True},
            after={"active": False},
        )


def method_label(code: str) -> str:
    return label(code)
