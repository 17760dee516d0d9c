"""Writes of the export engine: request, run, cancel, download, expire; scheduled extracts.

An extract is validated whole before anything starts (bad input starts nothing), recorded,
audited, and handed to a Celery task once the transaction commits. The task claims it with a
conditional UPDATE (a redelivered task finds it taken), writes the file to a temporary file,
stores it through Django's storage API only once complete, and marks it done. A cancelled or
failed extract never leaves a file behind for download.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import time as monotonic_time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from backoffice.access import Access
from backoffice.audit import SYSTEM, Actor, record
from backoffice.models import ApiKey, Membership
from backoffice.roles import Role
from extracts import copy as copy_path
from extracts import engine, periods, registry
from extracts.models import Extract, ExtractFormat, ExtractSchedule, ExtractState, Frequency
from extracts.writers import writer_class

logger = logging.getLogger(__name__)

# Parameters of the extract itself; everything else in a request is the dataset's filters.
ENGINE_PARAMS = frozenset({"dataset", "format", "zone", "columns", "preset", "csrfmiddlewaretoken", "name"})
PERIOD_PARAMS = frozenset({"period", "from", "to"})
PROGRESS_EVERY_SECONDS = 0.5
MAX_ZONE_LENGTH = 64


def storage():
    return storages["extracts"]


class Cancelled(Exception):
    pass


@dataclass(frozen=True)
class Prepared:
    dataset: registry.Dataset
    filters: Any
    query: str
    since: datetime | None
    until: datetime
    columns: tuple[registry.Column, ...]
    zone: ZoneInfo
    format: str

    def job(self, access: Access) -> engine.Job:
        return engine.Job(self.dataset, access, self.filters, self.since, self.until, self.columns, self.zone)


def parse_zone(raw: str) -> ZoneInfo | None:
    raw = (raw or "").strip()
    if not raw or len(raw) > MAX_ZONE_LENGTH or not raw.isascii() or ".." in raw or raw.startswith("/"):
        return None
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def filter_query(params) -> str:
    """The dataset's filters of a request as a query string (repeated keys kept, in order)."""
    pairs = []
    for key in params:
        if key in ENGINE_PARAMS:
            continue
        values = params.getlist(key) if hasattr(params, "getlist") else [params[key]]
        pairs.extend((key, v) for v in values if v not in (None, ""))
    return urlencode(pairs)


def _column_keys(params, dataset: registry.Dataset, errors: dict) -> tuple[str, ...]:
    raw = params.getlist("columns") if hasattr(params, "getlist") else list(params.get("columns") or [])
    if not raw:
        preset = (params.get("preset") or dataset.default_preset).strip()
        if preset not in dataset.presets:
            errors["preset"] = [_("Unknown column preset “%(preset)s”.") % {"preset": preset[:40]}]
            return ()
        return dataset.preset_columns(preset)
    keys = tuple(dict.fromkeys(str(k).strip() for k in raw))
    unknown = [k for k in keys if k not in dataset.by_key]
    if unknown:
        errors["columns"] = [_("Unknown column: %(names)s.") % {"names": ", ".join(k[:40] for k in unknown[:5])}]
    return keys


def prepare(*, access: Access, params, now: datetime | None = None) -> Prepared:
    """Everything an extract needs, validated, or a ``ValidationError`` naming each bad field."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    dataset = registry.get((params.get("dataset") or "transactions").strip())
    if dataset is None:
        raise ValidationError({"dataset": [_("There is no such data to extract.")]})
    if not dataset.can_export(access):
        raise PermissionDenied(_("Your role does not allow extracting this data."))
    fmt = (params.get("format") or "").strip()
    if fmt not in ExtractFormat.values:
        errors["format"] = [_("Choose CSV, CSV for Portuguese Excel, or XLSX.")]
    zone = parse_zone(params.get("zone") or "Europe/Lisbon")
    if zone is None:
        errors["zone"] = [_("Unknown time zone: use a name such as Europe/Lisbon or UTC.")]
    keys = _column_keys(params, dataset, errors)
    if not keys and "columns" not in errors and "preset" not in errors:
        errors["columns"] = [_("Choose at least one column.")]
    query = filter_query(params)
    filters, filter_errors, _form = dataset.parse(QueryDict(query), access=access, now=now, choices=False)
    errors.update(filter_errors)
    since, until = (None, None) if filter_errors else dataset.bounds(filters)
    until = min(until, now) if until else now
    if since is not None and since >= until:
        errors.setdefault("from", []).append(_("The period starts in the future: there is nothing to extract yet."))
    if errors:
        raise ValidationError(errors)
    return Prepared(
        dataset=dataset,
        filters=filters,
        query=query,
        since=since,
        until=until,
        columns=tuple(dataset.by_key[k] for k in keys),
        zone=zone,
        format=fmt,
    )


def _bound_text(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H%M%z") if moment else "start"


def download_name(*, dataset: str, since, until, zone: ZoneInfo, fmt: str) -> str:
    ext = writer_class(fmt).extension
    suffix = "_pt" if fmt == ExtractFormat.CSV_PT else ""
    zone_text = str(zone.key).replace("/", "-")
    return f"{dataset}_{_bound_text(since, zone)}_{_bound_text(until, zone)}_{zone_text}{suffix}.{ext}"


def _enqueue(extract_id: int) -> None:
    from extracts import tasks

    transaction.on_commit(lambda: tasks.run_extract.delay(extract_id))


def extract_request(*, access: Access, actor: Actor, params, now: datetime | None = None) -> Extract:
    """Validate, record, audit and queue an extract. Raises ValidationError / PermissionDenied."""
    now = now or timezone.now()
    prepared = prepare(access=access, params=params, now=now)
    rows, exact = engine.estimate(prepared.job(access).queryset())
    with transaction.atomic():
        extract = Extract.objects.create(
            merchant=access.merchant,
            dataset=prepared.dataset.key,
            requested_by=access.user,
            api_key=access.api_key,
            query=prepared.query,
            description=prepared.dataset.describe(prepared.filters) if prepared.dataset.describe else prepared.query,
            columns=[c.key for c in prepared.columns],
            format=prepared.format,
            time_zone=prepared.zone.key,
            language=_language_of(access),
            period_start=prepared.since,
            period_end=prepared.until,
            rows_estimated=rows,
            estimate_exact=exact,
            download_name=download_name(
                dataset=prepared.dataset.key,
                since=prepared.since,
                until=prepared.until,
                zone=prepared.zone,
                fmt=prepared.format,
            ),
            created_at=now,
        )
        record(actor=actor, action="extract.requested", merchant=access.merchant, obj=extract, after=_summary(extract))
        _enqueue(extract.pk)
    return extract


def _language_of(access: Access) -> str:
    if access.user is not None and access.user.language:
        return access.user.language
    return translation.get_language() or settings.LANGUAGE_CODE


def _summary(extract: Extract) -> dict:
    return {
        "dataset": extract.dataset,
        "filters": extract.query,
        "columns": extract.columns,
        "format": extract.format,
        "zone": extract.time_zone,
        "period_start": extract.period_start.isoformat() if extract.period_start else None,
        "period_end": extract.period_end.isoformat(),
        "rows_estimated": extract.rows_estimated,
        "rows": extract.rows_written,
    }


# --------------------------------------------------------------------------- running


def access_for(extract: Extract) -> Access:
    """The access the extract runs with, as it is now: a member who left, a revoked key or a
    role that lost the right stops it."""
    dataset = registry.get(extract.dataset)
    if dataset is None:
        raise PermissionDenied(_("This kind of extract is no longer available."))
    if extract.api_key_id:
        key = ApiKey.objects.filter(pk=extract.api_key_id, revoked_at__isnull=True).first()
        if key is None:
            raise PermissionDenied(_("The API key that asked for this extract has been revoked."))
        access = Access.for_api_key(key)
    else:
        membership = (
            Membership.objects.select_related("merchant", "user")
            .prefetch_related("stores")
            .filter(user_id=extract.requested_by_id, merchant_id=extract.merchant_id, is_active=True)
            .first()
        )
        if membership is None or not membership.user.is_active:
            raise PermissionDenied(_("The person who asked for this extract no longer has access to this merchant."))
        access = Access.for_membership(membership)
    if not dataset.can_export(access):
        raise PermissionDenied(_("The role of the person who asked for this extract no longer allows it."))
    return access


def extract_run(extract_id: int, *, xlsx_engine: str | None = None, use_copy: bool | None = None) -> Extract | None:
    """Write the file of a queued extract (the task's body). None when it was not queued."""
    now = timezone.now()
    claimed = Extract.objects.filter(pk=extract_id, state=ExtractState.QUEUED).update(
        state=ExtractState.RUNNING, started_at=now, progress_at=now
    )
    if not claimed:
        return None
    extract = Extract.objects.select_related("merchant").get(pk=extract_id)
    stored = ""
    try:
        with translation.override(extract.language or settings.LANGUAGE_CODE):
            stored, rows, size = _write(extract, xlsx_engine=xlsx_engine, use_copy=use_copy)
    except Cancelled:
        return Extract.objects.get(pk=extract_id)
    except (ValidationError, PermissionDenied) as exc:
        _fail(extract_id, " ".join(getattr(exc, "messages", None) or [str(exc)]))
        return Extract.objects.get(pk=extract_id)
    except Exception:
        logger.exception("extract %s failed", extract_id)
        _fail(extract_id, _("The file could not be written because of an internal error; please try again."))
        return Extract.objects.get(pk=extract_id)
    finished = timezone.now()
    done = Extract.objects.filter(pk=extract_id, state=ExtractState.RUNNING).update(
        state=ExtractState.DONE,
        file_name=stored,
        file_size=size,
        rows_written=rows,
        progress_at=finished,
        finished_at=finished,
        expires_at=finished + timedelta(days=settings.EXTRACT_RETENTION_DAYS),
    )
    if not done:  # cancelled while the file was being stored
        storage().delete(stored)
        return Extract.objects.get(pk=extract_id)
    extract.refresh_from_db()
    from extracts import notify

    transaction.on_commit(lambda: notify.extract_ready(extract))
    return extract


def _write(extract: Extract, *, xlsx_engine: str | None, use_copy: bool | None = None) -> tuple[str, int, int]:
    access = access_for(extract)
    prepared = prepare(
        access=access,
        params=_stored_params(extract),
        now=extract.created_at,
    )
    dataset = prepared.dataset
    job = engine.Job(
        dataset, access, prepared.filters, extract.period_start, extract.period_end, prepared.columns, prepared.zone
    )
    zone = prepared.zone
    title = [
        f"{dataset.label} — {extract.merchant.name}",
        _("Period: from %(start)s to %(end)s (%(zone)s), end excluded")
        % {
            "start": extract.period_start.astimezone(zone).isoformat(timespec="seconds")
            if extract.period_start
            else _("the first record"),
            "end": extract.period_end.astimezone(zone).isoformat(timespec="seconds"),
            "zone": zone.key,
        },
        _("Filters: %(filters)s") % {"filters": extract.description or _("none")},
    ]
    last = [monotonic_time.monotonic()]

    def progress(rows: int, connection=None) -> None:
        """Record the rows written so far; raise Cancelled when the extract is no longer
        running. ``connection``: another one than the ORM's (busy streaming a COPY)."""
        if monotonic_time.monotonic() - last[0] < PROGRESS_EVERY_SECONDS:
            return
        last[0] = monotonic_time.monotonic()
        if connection is None:
            updated = Extract.objects.filter(pk=extract.pk, state=ExtractState.RUNNING).update(
                rows_written=rows, progress_at=timezone.now()
            )
        else:
            table = connection.ops.quote_name(Extract._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET rows_written = %s, progress_at = %s WHERE id = %s AND state = %s",  # noqa: S608
                    [rows, timezone.now(), extract.pk, ExtractState.RUNNING],
                )
                updated = cursor.rowcount
                if not updated:
                    # Not there at all is not "cancelled": a row this connection cannot see yet.
                    cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s", [extract.pk])  # noqa: S608
                    updated = cursor.fetchone() is None
        if not updated:
            raise Cancelled

    cls = writer_class(extract.format, xlsx_engine=xlsx_engine)
    with tempfile.TemporaryFile(prefix="extract-", dir=settings.EXTRACTS_TMP_DIR) as tmp:
        writer = cls(tmp, labels=[str(c.label) for c in job.columns], kinds=[c.kind for c in job.columns], title=title)
        if use_copy is None:
            use_copy = settings.EXTRACTS_USE_COPY
        plan = copy_path.copy_plan(job, extract.format) if use_copy else None
        if plan is not None:
            rows = copy_path.write(job, writer, plan, progress=progress)
        else:
            rows = engine.write(job, writer, progress=progress)
        tmp.flush()
        size = tmp.tell()
        tmp.seek(0)
        name = f"{extract.merchant.slug}/{extract.pk}-{secrets.token_hex(8)}/{extract.download_name}"
        stored = storage().save(name, File(tmp, name=extract.download_name))
    return stored, rows, size


def _stored_params(extract: Extract) -> QueryDict:
    params = QueryDict(extract.query, mutable=True)
    params["dataset"] = extract.dataset
    params["format"] = extract.format
    params["zone"] = extract.time_zone
    params.setlist("columns", list(extract.columns))
    return params


def _fail(extract_id: int, reason: str) -> None:
    Extract.objects.filter(pk=extract_id, state__in=[ExtractState.QUEUED, ExtractState.RUNNING]).update(
        state=ExtractState.FAILED, error=reason[:1000], finished_at=timezone.now()
    )


def extract_cancel(*, access: Access, actor: Actor, extract: Extract) -> bool:
    with transaction.atomic():
        cancelled = (
            Extract.objects.filter(pk=extract.pk, state__in=[ExtractState.QUEUED, ExtractState.RUNNING]).update(
                state=ExtractState.CANCELLED, finished_at=timezone.now()
            )
            > 0
        )
        if cancelled:
            record(actor=actor, action="extract.cancelled", merchant=access.merchant, obj=extract)
    return cancelled


def extract_open(*, access: Access, actor: Actor, extract: Extract):
    """The stored file, opened for reading, after auditing the download. Raises
    ``FileNotFoundError`` when the file is not (or no longer) there."""
    if extract.state != ExtractState.DONE or not extract.file_name:
        raise FileNotFoundError(extract.pk)
    handle = storage().open(extract.file_name, "rb")
    record(
        actor=actor,
        action="extract.downloaded",
        merchant=access.merchant,
        obj=extract,
        after={"dataset": extract.dataset, "filters": extract.query, "rows": extract.rows_written},
    )
    return handle


def expire_files(now: datetime | None = None) -> int:
    """Delete the files past their retention (the extracts stay listed, marked expired), and
    fail extracts whose worker stopped without a word."""
    now = now or timezone.now()
    expired = 0
    for pk, name in Extract.objects.filter(state=ExtractState.DONE, expires_at__lte=now).values_list("pk", "file_name"):
        if Extract.objects.filter(pk=pk, state=ExtractState.DONE).update(state=ExtractState.EXPIRED, file_name=""):
            if name:
                storage().delete(name)
            expired += 1
    stale = now - timedelta(minutes=settings.EXTRACT_STALE_MINUTES)
    Extract.objects.filter(state=ExtractState.RUNNING, progress_at__lt=stale).update(
        state=ExtractState.FAILED, error=_("The worker writing this file stopped; please ask for it again.")
    )
    return expired


# --------------------------------------------------------------------------- schedules


def schedule_create(*, access: Access, actor: Actor, params, recipients, name: str, frequency: str, hour: int):
    """A scheduled extract of the filters in ``params`` (their period is ignored: each run
    covers its own day, week or month)."""
    errors: dict[str, list[str]] = {}
    if frequency not in Frequency.values:
        errors["frequency"] = [_("Choose daily, weekly or monthly.")]
    if not (isinstance(hour, int) and 0 <= hour <= 23):
        errors["hour"] = [_("Choose an hour from 0 to 23.")]
    name = (name or "").strip()
    if not name or len(name) > 100:
        errors["name"] = [_("Give the schedule a name (at most 100 characters).")]
    params = params.copy()
    for key in PERIOD_PARAMS:
        params.pop(key, None)
    try:
        prepared = prepare(access=access, params=params)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        prepared = None
    recipients = list(recipients)
    if prepared is not None and any(not _may_receive(access, u, prepared.dataset) for u in recipients):
        errors["recipients"] = [
            _("Recipients must be members of this merchant allowed to extract this data for at least the same stores.")
        ]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        schedule = ExtractSchedule.objects.create(
            merchant=access.merchant,
            owner=access.user,
            name=name,
            dataset=prepared.dataset.key,
            query=prepared.query,
            columns=[c.key for c in prepared.columns],
            format=prepared.format,
            time_zone=prepared.zone.key,
            frequency=frequency,
            hour=hour,
        )
        schedule.recipients.set(recipients)
        record(
            actor=actor,
            action="extract_schedule.created",
            merchant=access.merchant,
            obj=schedule,
            after={
                "dataset": schedule.dataset,
                "filters": schedule.query,
                "frequency": frequency,
                "hour": hour,
                "zone": schedule.time_zone,
                "recipients": [u.email for u in recipients],
            },
        )
    return schedule


def _may_receive(owner: Access, user, dataset: registry.Dataset) -> bool:
    membership = (
        Membership.objects.filter(user=user, merchant=owner.merchant, is_active=True, user__is_active=True)
        .prefetch_related("stores")
        .first()
    )
    if membership is None:
        return False
    access = Access.for_membership(membership)
    if not dataset.can_export(access):
        return False
    return not access.is_store_limited or (owner.is_store_limited and owner.store_ids <= access.store_ids)


def recipients_allowed(schedule: ExtractSchedule) -> list:
    """The schedule's recipients who may still receive its files (checked at every run)."""
    dataset = registry.get(schedule.dataset)
    try:
        owner = access_for(Extract(merchant=schedule.merchant, dataset=schedule.dataset, requested_by=schedule.owner))
    except PermissionDenied:
        return []
    return [u for u in schedule.recipients.all() if dataset and _may_receive(owner, u, dataset)]


def schedule_delete(*, access: Access, actor: Actor, schedule: ExtractSchedule) -> None:
    with transaction.atomic():
        record(
            actor=actor,
            action="extract_schedule.deleted",
            merchant=access.merchant,
            obj=schedule,
            before={"dataset": schedule.dataset, "filters": schedule.query, "frequency": schedule.frequency},
        )
        schedule.delete()


def _stop_schedule(schedule: ExtractSchedule, reason: str) -> None:
    with transaction.atomic():
        if not ExtractSchedule.objects.filter(pk=schedule.pk, is_active=True).update(
            is_active=False, stopped_reason=reason[:300]
        ):
            return
        record(
            actor=SYSTEM,
            action="extract_schedule.stopped",
            merchant=schedule.merchant,
            obj=schedule,
            after={"reason": reason},
        )
    from extracts import notify

    notify.schedule_stopped(schedule, reason)


def schedule_run(schedule: ExtractSchedule, now: datetime) -> Extract | None:
    """The extract of the schedule's last whole period, once it is due; None when not due,
    already made, or the schedule had to stop. Safe to call from any number of beats at once:
    a unique row per schedule and period decides who makes it."""
    zone = periods_zone(schedule)
    start, end = periods.previous_period(schedule.frequency, zone, now)
    if now < periods.due_at(end, zone, schedule.hour) or end <= schedule.created_at:
        return None
    if Extract.objects.filter(schedule=schedule, period_start=start).exists():
        return None
    extract = Extract(
        merchant=schedule.merchant,
        dataset=schedule.dataset,
        requested_by=schedule.owner,
        schedule=schedule,
        query=schedule.query,
        description=schedule.query,
        columns=schedule.columns,
        format=schedule.format,
        time_zone=schedule.time_zone,
        language=schedule.owner.language or settings.LANGUAGE_CODE,
        period_start=start,
        period_end=end,
        created_at=now,
        download_name=download_name(dataset=schedule.dataset, since=start, until=end, zone=zone, fmt=schedule.format),
    )
    try:
        access = access_for(extract)
    except PermissionDenied as exc:
        _stop_schedule(schedule, str(exc))
        return None
    try:
        with transaction.atomic():
            extract.save()
            record(
                actor=SYSTEM,
                action="extract.requested",
                merchant=access.merchant,
                obj=extract,
                after={**_summary(extract), "schedule": schedule.pk},
            )
            _enqueue(extract.pk)
    except IntegrityError:
        return None  # another beat (or a retry) made this period's extract first
    return extract


def periods_zone(schedule: ExtractSchedule) -> ZoneInfo:
    return parse_zone(schedule.time_zone) or periods.LISBON


def run_due_schedules(now: datetime | None = None) -> int:
    now = now or timezone.now()
    made = 0
    for schedule in ExtractSchedule.objects.filter(is_active=True).select_related("merchant", "owner"):
        if schedule_run(schedule, now) is not None:
            made += 1
    return made


def can_see_all(access: Access) -> bool:
    """Owners and Administrators of the whole merchant see (and download) every extract."""
    return access.role in (Role.OWNER, Role.ADMINISTRATOR) and not access.is_store_limited
