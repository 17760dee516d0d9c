"""Changes to a merchant's reconciliation settings (Owners and Administrators), audited.
Secrets (SFTP password and key, PGP key and passphrase) are encrypted at rest and never shown
back; the audit log records that they changed, not what they are."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.audit import record as audit
from backoffice.roles import Capability, Role
from reconciliation.models import ReconciliationSettings

# Choosing how files are read and fetched is for Owners and Administrators; Finance reconciles.
SETTINGS_ROLES = (Role.OWNER, Role.ADMINISTRATOR)


def can_configure(access: Access) -> bool:
    return access.can(Capability.RECONCILE) and access.role in SETTINGS_ROLES and not access.is_store_limited


def _require(access: Access) -> None:
    if not can_configure(access):
        raise PermissionDenied("Only Owners and Administrators of the whole merchant change these settings.")


def _locked(access: Access) -> ReconciliationSettings:
    ReconciliationSettings.objects.get_or_create(merchant=access.merchant)
    return ReconciliationSettings.objects.select_for_update().get(merchant=access.merchant)


def matching_update(*, access: Access, actor: Actor, layout: str, column_map: dict, tolerance, business_days: int):
    _require(access)
    with transaction.atomic():
        obj = _locked(access)
        before = {
            "layout": obj.layout,
            "column_map": obj.column_map,
            "tolerance": str(obj.tolerance),
            "expected_business_days": obj.expected_business_days,
        }
        obj.layout, obj.column_map, obj.tolerance = layout, column_map, tolerance
        obj.expected_business_days = business_days
        obj.updated_by, obj.updated_at = actor.user, timezone.now()
        obj.save()
        after = {
            "layout": layout,
            "column_map": column_map,
            "tolerance": str(tolerance),
            "expected_business_days": business_days,
        }
        audit(
            actor=actor,
            action="reconciliation.settings_changed",
            merchant=access.merchant,
            obj=obj,
            before=before,
            after=after,
        )
    return obj


def sftp_update(*, access: Access, actor: Actor, data: dict):
    _require(access)
    with transaction.atomic():
        obj = _locked(access)
        fields = ["sftp_enabled", "sftp_host", "sftp_port", "sftp_username", "sftp_remote_dir", "sftp_pattern"]
        before = {f: getattr(obj, f) for f in fields}
        for f in fields:
            setattr(obj, f, data[f])
        changed_secrets = []
        for name in ("sftp_password", "sftp_private_key"):
            if data.get(name):
                setattr(obj, name, data[name].strip() if name == "sftp_private_key" else data[name])
                changed_secrets.append(name)
        if data.get("forget_host_key") or before["sftp_host"] != obj.sftp_host or before["sftp_port"] != obj.sftp_port:
            obj.sftp_host_key = obj.sftp_host_key_fingerprint = ""
        obj.updated_by, obj.updated_at = actor.user, timezone.now()
        obj.save()
        after = {f: getattr(obj, f) for f in fields} | {"secrets_changed": changed_secrets}
        audit(
            actor=actor,
            action="reconciliation.sftp_changed",
            merchant=access.merchant,
            obj=obj,
            before=before,
            after=after,
        )
    return obj


def pgp_update(*, access: Access, actor: Actor, private_key: str, passphrase: str, remove: bool):
    _require(access)
    with transaction.atomic():
        obj = _locked(access)
        if remove:
            obj.pgp_private_key = obj.pgp_passphrase = ""
        elif private_key:
            obj.pgp_private_key, obj.pgp_passphrase = private_key, passphrase
        else:
            return obj
        obj.updated_by, obj.updated_at = actor.user, timezone.now()
        obj.save()
        audit(
            actor=actor,
            action="reconciliation.pgp_key_removed" if remove else "reconciliation.pgp_key_set",
            merchant=access.merchant,
            obj=obj,
        )
    return obj
