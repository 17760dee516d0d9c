"""The audit log as a dataset of the export engine (Owners and Administrators): the same
filters, selector and rows as the audit page.

Registered by the engine itself: ``backoffice`` sits below the engine (docs/ARCHITECTURE.md)
and never imports it, so the engine brings the one dataset of the layer beneath it. Every other
dataset is registered by the app that owns it.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils.translation import gettext_lazy as _

from backoffice import selectors
from backoffice.forms import AuditFilterForm
from backoffice.roles import Capability
from extracts.registry import Column, Dataset, Kind, register

COLUMNS = (
    Column("created_at", _("When"), Kind.DATETIME, ("created_at",)),
    Column("actor", _("Who"), Kind.TEXT, ("actor_label",)),
    Column("action", _("Action"), Kind.TEXT, ("action",)),
    Column("object_type", _("Object type"), Kind.TEXT, ("object_type",)),
    Column("object_id", _("Object id"), Kind.TEXT, ("object_id",)),
    Column("object", _("Object"), Kind.TEXT, ("object_repr",)),
    Column("before", _("Before"), Kind.TEXT, ("before",), value=lambda v: None if v is None else str(v)),
    Column("after", _("After"), Kind.TEXT, ("after",), value=lambda v: None if v is None else str(v)),
    Column("ip_address", _("IP address"), Kind.TEXT, ("ip_address",)),
)


def parse(params, *, access, now=None, choices=True):
    form = AuditFilterForm(params)
    form.is_valid()
    errors = {name: [str(m) for m in msgs] for name, msgs in form.errors.items()}
    return (form.cleaned_data if not errors else {}), errors, form


def queryset(*, access, filters, since, until):
    qs = selectors.audit_event_list(
        access=access,
        actor=filters.get("actor") or "",
        action=filters.get("action") or "",
        since=filters.get("since"),
        until=filters.get("until"),
    )
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    return qs.filter(created_at__lt=until)


def bounds(filters):
    since, until = filters.get("since"), filters.get("until")
    return (
        selectors._day_start(since) if since else None,
        selectors._day_start(until + timedelta(days=1)) if until else None,
    )


def describe(filters) -> str:
    return "&".join(f"{k}={v}" for k, v in filters.items() if v)


def register_dataset() -> Dataset:
    return register(
        Dataset(
            key="audit",
            label=_("Audit log"),
            capability=Capability.VIEW_AUDIT,
            columns=COLUMNS,
            presets={"everything": (_("Everything"), tuple(c.key for c in COLUMNS))},
            parse=parse,
            queryset=queryset,
            bounds=bounds,
            describe=describe,
        )
    )
