"""Writes of the core domain: onboarding, memberships, API keys, login lockout."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from backoffice import audit
from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.crypto import format_code, generate_code, normalise_code, token_hash
from backoffice.models import ActivationCode, ApiKey, Membership, Merchant, Store, User
from backoffice.roles import Capability, Role, grantable_roles

# --- Activation codes ------------------------------------------------------------------------


class ActivationError(Exception):
    """Activation refused; ``code`` tells which rule, ``message`` is for the person."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _code_hash(code: str) -> str:
    return token_hash("activation:" + normalise_code(code))


def activation_code_issue(*, user: User, actor: Actor, merchant: Merchant | None = None) -> str:
    """Issue a fresh code for ``user``; every earlier unused code stops working.

    Returns the plaintext code, which exists only in the e-mail: the database keeps a hash.
    """
    now = timezone.now()
    code = generate_code()
    with transaction.atomic():
        ActivationCode.objects.filter(user=user, used_at__isnull=True, superseded_at__isnull=True).update(
            superseded_at=now
        )
        ActivationCode.objects.create(
            user=user,
            code_hash=_code_hash(code),
            created_at=now,
            expires_at=now + timedelta(hours=settings.ACTIVATION_CODE_VALIDITY_HOURS),
            issued_by=actor.user,
        )
        audit.record(actor=actor, action="activation_code.issued", merchant=merchant, obj=user)
    return code


def account_activate(*, email: str, code: str, password: str, client_ip: str | None = None) -> User:
    """Check the code and set the password. Raises ActivationError with a clear reason.

    The code rows are locked while they are checked, so two tries at the same moment cannot
    both pass, nor both slip past the attempt limit. A wrong try is committed before the
    error is raised: the attempt counter must survive the refusal.

    A wrong code gets the same answer whether or not the e-mail waits for activation (no
    "attempts left", no "locked"), so the page cannot list pending invitees; and one client
    address has ``ACTIVATION_ATTEMPTS_PER_IP`` tries per ``ACTIVATION_IP_WINDOW_MINUTES``, so
    nobody sprays e-mails to lock other people's codes.
    """
    if client_ip and not _activation_ip_allowed(client_ip):
        raise ActivationError(
            "rate_limited", _("Too many activation attempts from your network. Try again in a few minutes.")
        )
    with transaction.atomic():
        user, error = _activation_check(email=email, code=code, password=password)
    if error is not None:
        raise error
    return user


def _wrong_activation() -> str:
    return _(
        "The e-mail or the activation code is not correct. After %(max)d wrong tries a code stops working: "
        "ask your administrator to send a new one."
    ) % {"max": settings.ACTIVATION_CODE_MAX_ATTEMPTS}


def _activation_ip_allowed(ip: str) -> bool:
    """Count this attempt against the client address; False once over the limit."""
    key = f"activation-attempts:{ip}"
    window = settings.ACTIVATION_IP_WINDOW_MINUTES * 60
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count <= settings.ACTIVATION_ATTEMPTS_PER_IP


def _activation_check(*, email: str, code: str, password: str) -> tuple[User | None, ActivationError | None]:
    email = (email or "").strip().lower()
    entered = normalise_code(code or "")
    wrong = ActivationError("wrong", _wrong_activation())
    # Worded exactly as a wrong code: "locked" would tell a stranger this e-mail has a pending code.
    locked = ActivationError("locked", _wrong_activation())
    if not email or not entered or len(entered) > 32:
        return None, wrong
    now = timezone.now()
    user = User.objects.select_for_update().filter(email__iexact=email).first()
    if user is None:
        return None, wrong
    codes = list(ActivationCode.objects.select_for_update().filter(user=user).order_by("-created_at", "-id"))
    if not codes:
        return None, wrong
    current = codes[0]
    current_open = current.used_at is None and current.superseded_at is None
    if current_open and current.failed_attempts >= settings.ACTIVATION_CODE_MAX_ATTEMPTS:
        return None, locked
    entered_hash = _code_hash(entered)
    matched = next((c for c in codes if secrets.compare_digest(c.code_hash, entered_hash)), None)

    if matched is None:
        if current_open and current.expires_at > now:
            current.failed_attempts += 1
            current.save(update_fields=["failed_attempts"])
            if current.failed_attempts >= settings.ACTIVATION_CODE_MAX_ATTEMPTS:
                return None, locked
        return None, wrong
    if matched.used_at is not None:
        return None, ActivationError(
            "used", _("This activation code has already been used. Sign in with your password, or reset it.")
        )
    if matched.superseded_at is not None:
        return None, ActivationError(
            "superseded", _("A newer activation code was sent to you. Use the code from the latest e-mail.")
        )
    if matched.expires_at <= now:
        return None, ActivationError(
            "expired", _("This activation code has expired. Ask your administrator to send you a new one.")
        )
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        # The code stays valid: choosing a weak password is not an attempt at guessing it.
        return None, ActivationError("weak_password", " ".join(exc.messages))

    matched.used_at = now
    matched.save(update_fields=["used_at"])
    user.set_password(password)
    user.is_active = True
    user.activated_at = user.activated_at or now
    user.failed_login_count = 0
    user.locked_until = None
    user.save()
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    audit.record(actor=Actor(user=user), action="user.activated", obj=user)
    return user, None


# --- Invitations and memberships -------------------------------------------------------------


@dataclass(frozen=True)
class InviteResult:
    membership: Membership
    user_created: bool
    activation_code: str | None  # None when the person already has a password


def _send_mail(*, to: str, language: str, template: str, context: dict) -> None:
    with translation.override(language):
        subject = (
            settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + render_to_string(f"email/{template}_subject.txt", context).strip()
        )
        text = render_to_string(f"email/{template}.txt", context)
        html = render_to_string(f"email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    message.send()


def _invitation_context(*, user: User, merchant: Merchant, role: Role, actor: Actor, code: str | None) -> dict:
    return {
        "user": user,
        "merchant": merchant,
        "role": role.label,
        "inviter": actor.user.display_name if actor.user else merchant.name,
        "code": format_code(code) if code else None,
        # The link opens the page in the language of the e-mail.
        "activate_url": settings.SITE_URL
        + reverse("activate")
        + "?"
        + urlencode({"email": user.email, "lang": user.language or merchant.language}, safe="@"),
        "login_url": settings.SITE_URL + reverse("account_login") + "?" + urlencode({"lang": user.language}),
        "validity_days": settings.ACTIVATION_CODE_VALIDITY_HOURS // 24,
    }


def _check_can_grant(access: Access, role: Role, stores: list[Store]) -> None:
    access.require(Capability.MANAGE_USERS)
    if role not in grantable_roles(access.role):
        raise PermissionDenied(_("Your role cannot grant the %(role)s role.") % {"role": role.label})
    for store in stores:
        if store.merchant_id != access.merchant.pk:
            raise ValidationError(_("That store does not belong to this merchant."))
        if not access.allows_store(store.pk):
            raise PermissionDenied(_("You cannot grant access to a store you cannot see."))
    if access.is_store_limited and not stores:
        raise PermissionDenied(_("You can only invite people to the stores you have access to."))


def user_invite(
    *,
    access: Access,
    actor: Actor,
    email: str,
    role: Role,
    stores: list[Store] = (),
    full_name: str = "",
    language: str | None = None,
) -> InviteResult:
    """Invite a person to the merchant.

    New people get an account waiting for activation and an e-mail with a code. People who
    already have a password (members of another merchant) just get the membership and a note.
    """
    role = Role(role)
    stores = list(stores)
    _check_can_grant(access, role, stores)
    email = User.objects.normalize_email(email.strip()).lower()
    merchant = access.merchant
    language = language or merchant.language

    with transaction.atomic():
        user = User.objects.select_for_update().filter(email__iexact=email).first()
        created = user is None
        if created:
            user = User.objects.create_user(email, full_name=full_name, language=language, is_active=False)
        membership = Membership.objects.filter(user=user, merchant=merchant).first()
        if membership is not None and membership.is_active:
            raise ValidationError(
                _("%(email)s is already a member of %(merchant)s.")
                % {
                    "email": email,
                    "merchant": merchant.name,
                }
            )
        if membership is None:
            membership = Membership.objects.create(user=user, merchant=merchant, role=role, invited_by=actor.user)
        else:  # a former member invited again
            membership.role = role
            membership.is_active = True
            membership.invited_by = actor.user
            membership.save(update_fields=["role", "is_active", "invited_by"])
        membership.stores.set(stores)
        audit.record(
            actor=actor,
            action="membership.invited",
            merchant=merchant,
            obj=membership,
            after={"email": email, "role": role.value, "stores": sorted(s.pk for s in stores)},
        )
        needs_code = not user.has_usable_password()
        code = activation_code_issue(user=user, actor=actor, merchant=merchant) if needs_code else None

        context = _invitation_context(user=user, merchant=merchant, role=role, actor=actor, code=code)
        template = "activation" if code else "membership_added"
        transaction.on_commit(
            lambda: _send_mail(to=user.email, language=user.language or language, template=template, context=context)
        )
    return InviteResult(membership=membership, user_created=created, activation_code=code)


def activation_code_resend(*, access: Access, actor: Actor, membership: Membership) -> str:
    """A new code for a member who has not activated yet; the previous one stops working."""
    access.require(Capability.MANAGE_USERS)
    if membership.merchant_id != access.merchant.pk:
        raise PermissionDenied
    user = membership.user
    if user.has_usable_password():
        raise ValidationError(_("%(email)s has already activated their account.") % {"email": user.email})
    code = activation_code_issue(user=user, actor=actor, merchant=access.merchant)
    context = _invitation_context(
        user=user, merchant=access.merchant, role=Role(membership.role), actor=actor, code=code
    )
    transaction.on_commit(
        lambda: _send_mail(to=user.email, language=user.language, template="activation", context=context)
    )
    return code


def _guard_membership_change(access: Access, membership: Membership) -> None:
    access.require(Capability.MANAGE_USERS)
    if membership.merchant_id != access.merchant.pk:
        raise PermissionDenied
    if Role(membership.role) not in grantable_roles(access.role):
        raise PermissionDenied(
            _("Your role cannot change a member with the %(role)s role.")
            % {
                "role": Role(membership.role).label,
            }
        )
    if access.user is not None and membership.user_id == access.user.pk:
        raise PermissionDenied(_("You cannot change your own role or access."))


def can_change_membership(access: Access, membership: Membership) -> bool:
    """Whether ``access`` may edit or remove ``membership``: the rule the writes enforce, asked
    before offering the Edit and Remove actions."""
    try:
        _guard_membership_change(access, membership)
    except PermissionDenied:
        return False
    return True


def _last_owner(membership: Membership) -> bool:
    return (
        membership.role == Role.OWNER
        and not Membership.objects.filter(merchant=membership.merchant, role=Role.OWNER, is_active=True)
        .exclude(pk=membership.pk)
        .exists()
    )


def membership_update(
    *, access: Access, actor: Actor, membership: Membership, role: Role, stores: list[Store]
) -> Membership:
    role = Role(role)
    _guard_membership_change(access, membership)
    _check_can_grant(access, role, list(stores))
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if role != Role.OWNER and _last_owner(membership):
            raise ValidationError(_("A merchant must keep at least one Owner."))
        before = {"role": membership.role, "stores": sorted(membership.stores.values_list("id", flat=True))}
        membership.role = role
        membership.save(update_fields=["role"])
        membership.stores.set(stores)
        after = {"role": role.value, "stores": sorted(s.pk for s in stores)}
        audit.record(
            actor=actor,
            action="membership.updated",
            merchant=access.merchant,
            obj=membership,
            before=before,
            after=after,
        )
    return membership


def membership_deactivate(*, access: Access, actor: Actor, membership: Membership) -> None:
    _guard_membership_change(access, membership)
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if _last_owner(membership):
            raise ValidationError(_("A merchant must keep at least one Owner."))
        membership.is_active = False
        membership.save(update_fields=["is_active"])
        audit.record(
            actor=actor,
            action="membership.removed",
            merchant=access.merchant,
            obj=membership,
            before={"role": membership.role, "active": True},
            after={"active": False},
        )


# --- Merchants (platform staff) ---------------------------------------------------------------


def merchant_create_with_owner(
    *, actor: Actor, name: str, slug: str, legal_name: str, nif: str, owner_email: str, language: str = "pt"
) -> tuple[Merchant, InviteResult]:
    """What platform staff do in the Django admin: a merchant and its first Owner's invitation."""
    with transaction.atomic():
        merchant = Merchant(name=name, slug=slug, legal_name=legal_name, nif=nif, language=language)
        merchant.full_clean()
        merchant.save()
        audit.record(
            actor=actor,
            action="merchant.created",
            merchant=merchant,
            obj=merchant,
            after={"name": name, "nif": nif},
        )
        platform = Access(merchant=merchant, role=Role.OWNER, user=actor.user)
        invite = user_invite(access=platform, actor=actor, email=owner_email, role=Role.OWNER, language=language)
    return merchant, invite


# --- API keys ------------------------------------------------------------------------------------

API_KEY_PREFIX = "sbo"


def api_key_create(
    *, access: Access, actor: Actor, name: str, role: Role, stores: list[Store] = ()
) -> tuple[ApiKey, str]:
    """Create a key; the plaintext is returned once and never stored."""
    access.require(Capability.MANAGE_API_KEYS)
    role = Role(role)
    stores = list(stores)
    _check_can_grant(access, role, stores)
    prefix = secrets.token_hex(6)
    plaintext = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        key = ApiKey.objects.create(
            merchant=access.merchant,
            name=name.strip()[:100] or "API key",
            role=role,
            prefix=prefix,
            key_hash=token_hash(plaintext),
            created_by=actor.user,
        )
        key.stores.set(stores)
        audit.record(
            actor=actor,
            action="api_key.created",
            merchant=access.merchant,
            obj=key,
            after={"name": key.name, "role": role.value, "prefix": prefix},
        )
    return key, plaintext


def api_key_revoke(*, access: Access, actor: Actor, key: ApiKey) -> None:
    access.require(Capability.MANAGE_API_KEYS)
    if key.merchant_id != access.merchant.pk:
        raise PermissionDenied
    audit.change_once(
        queryset=ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True),
        update={"revoked_at": timezone.now()},
        actor=actor,
        action="api_key.revoked",
        merchant=access.merchant,
        obj=key,
        before={"active": True},
        after={"active": False},
    )


def api_key_authenticate(plaintext: str) -> ApiKey | None:
    # The random part is URL-safe Base64 and may itself contain "_": split twice only.
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or len(plaintext) > 200:
        return None
    key = (
        ApiKey.objects.select_related("merchant")
        .filter(prefix=parts[1], revoked_at__isnull=True, merchant__is_active=True)
        .first()
    )
    if key is None or not secrets.compare_digest(key.key_hash, token_hash(plaintext)):
        return None
    now = timezone.now()
    # Touch last_used_at at most once a minute: no write on every request.
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


# --- Login lockout ---------------------------------------------------------------------------------


def login_failure_record(*, email: str) -> None:
    """Count a failed password for this e-mail; the 10th locks the account for 30 minutes."""
    now = timezone.now()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email__iexact=(email or "").strip()).first()
        if user is None:
            return
        if user.locked_until and user.locked_until > now:
            return
        user.failed_login_count += 1
        fields = ["failed_login_count"]
        if user.failed_login_count >= settings.LOGIN_FAILURE_LIMIT:
            user.locked_until = now + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
            user.failed_login_count = 0
            fields.append("locked_until")
            audit.record(
                actor=Actor(),
                action="user.locked",
                obj=user,
                after={"locked_until": user.locked_until.isoformat()},
            )
        user.save(update_fields=fields)


def login_success_reset(*, user: User) -> None:
    if user.failed_login_count or user.locked_until:
        User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)


def user_is_locked(user: User) -> bool:
    return bool(user.locked_until and user.locked_until > timezone.now())
