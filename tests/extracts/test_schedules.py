"""Scheduled extracts: exact periods across daylight-saving changes, one file per period even
when beats race, and a schedule that stops when its owner loses access."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connections, transaction

from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.models import AuditEvent
from extracts import periods, services
from extracts.models import Extract, ExtractSchedule, ExtractState
from tests.extracts.conftest import make_txn
from tests.extracts.support import params, read_csv

LISBON = ZoneInfo("Europe/Lisbon")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "start", "end", "hours"),
    [
        # Summer time starts on the last Sunday of March (29 March 2026): a 23-hour day.
        (utc(2026, 3, 30, 6), utc(2026, 3, 29, 0), utc(2026, 3, 29, 23), 23),
        (utc(2026, 3, 29, 6), utc(2026, 3, 28, 0), utc(2026, 3, 29, 0), 24),
        # It ends on the last Sunday of October (25 October 2026): a 25-hour day.
        (utc(2026, 10, 26, 6), utc(2026, 10, 24, 23), utc(2026, 10, 26, 0), 25),
        (utc(2026, 10, 25, 6), utc(2026, 10, 23, 23), utc(2026, 10, 24, 23), 24),
    ],
)
def test_daily_periods_follow_the_wall_clock_across_daylight_saving(now, start, end, hours):
    got_start, got_end = periods.previous_period("daily", LISBON, now)
    assert (got_start, got_end) == (start, end)
    assert got_end - got_start == timedelta(hours=hours)


@pytest.mark.parametrize("frequency", ["daily", "weekly", "monthly"])
@pytest.mark.parametrize("zone", ["Europe/Lisbon", "UTC", "America/Sao_Paulo", "Atlantic/Azores"])
def test_consecutive_periods_have_no_gap_and_no_overlap(frequency, zone):
    tz = ZoneInfo(zone)
    seen = []
    moment = utc(2026, 1, 1, 12)
    while moment < utc(2027, 1, 10):
        period = periods.previous_period(frequency, tz, moment)
        if not seen or seen[-1] != period:
            seen.append(period)
        moment += timedelta(hours=6)
    for (_s1, e1), (s2, _e2) in itertools.pairwise(seen):
        assert e1 == s2
    assert all(s < e for s, e in seen)
    # each start is the first instant of its local day (00:00, or 01:00 where midnight is skipped)
    tick = timedelta(microseconds=1)
    assert all((s - tick).astimezone(tz).date() < s.astimezone(tz).date() for s, _e in seen)


def test_weekly_and_monthly_bounds():
    now = utc(2026, 11, 4, 10)  # a Wednesday
    assert periods.previous_period("weekly", LISBON, now) == (utc(2026, 10, 26, 0), utc(2026, 11, 2, 0))
    assert periods.previous_period("monthly", LISBON, now) == (
        utc(2026, 10, 1, 0) - timedelta(hours=1),
        utc(2026, 11, 1, 0),
    )


def make_schedule(world, *, owner=None, frequency="daily", hour=6, recipients=(), **values):
    owner = owner or world.m_fiona
    p = params("tab=success&period=today", format="csv", columns=["transaction_id", "created_at"], **values)
    return services.schedule_create(
        access=Access.for_membership(owner),
        actor=Actor(user=owner.user),
        params=p,
        recipients=recipients,
        name="Daily paid",
        frequency=frequency,
        hour=hour,
    )


@pytest.mark.django_db
def test_a_schedule_makes_the_previous_day_once_when_due(world, django_capture_on_commit_callbacks):
    # given a schedule made last week, and payments either side of midnight (Lisbon, summer)
    schedule = make_schedule(world, recipients=[world.alice])
    ExtractSchedule.objects.filter(pk=schedule.pk).update(created_at=utc(2026, 7, 1))
    schedule.refresh_from_db()
    inside = make_txn(world, created_at=utc(2026, 7, 9, 23, 0))  # 00:00 on the 10th in Lisbon
    make_txn(world, created_at=utc(2026, 7, 9, 22, 59))  # 23:59 on the 9th: the day before
    make_txn(world, created_at=utc(2026, 7, 10, 23, 0))  # the 11th: the next period
    # when: before 06:00 Lisbon nothing is due; then it is, and runs once
    assert services.schedule_run(schedule, utc(2026, 7, 11, 4, 59)) is None
    extract = services.schedule_run(schedule, utc(2026, 7, 11, 5, 0))
    assert services.schedule_run(schedule, utc(2026, 7, 11, 5, 5)) is None
    # then
    assert (extract.period_start, extract.period_end) == (utc(2026, 7, 9, 23), utc(2026, 7, 10, 23))
    assert "2026-07-10T0000+0100_2026-07-11T0000+0100_Europe-Lisbon" in extract.download_name
    with django_capture_on_commit_callbacks(execute=True):
        services.extract_run(extract.pk)
    extract.refresh_from_db()
    assert [r[0] for r in read_csv(extract)[1:]] == [inside.transaction_id]
    assert [m.to for m in mail.outbox] == [["alice@loja.example"]]


@pytest.mark.django_db
def test_the_schedule_filters_ignore_a_period_and_keep_the_rest(world):
    schedule = make_schedule(world)
    assert schedule.query == "tab=success"


@pytest.mark.django_db
def test_a_schedule_stops_when_its_owner_loses_access_and_owners_are_told(world):
    schedule = make_schedule(world)
    ExtractSchedule.objects.filter(pk=schedule.pk).update(created_at=utc(2026, 7, 1))
    schedule.refresh_from_db()
    world.m_fiona.role = "viewer"
    world.m_fiona.save()
    assert services.schedule_run(schedule, utc(2026, 7, 11, 6)) is None
    schedule.refresh_from_db()
    assert not schedule.is_active and "no longer allows" in schedule.stopped_reason
    assert not Extract.objects.exists()
    assert [m.to for m in mail.outbox] == [["alice@loja.example"]]
    assert AuditEvent.objects.filter(action="extract_schedule.stopped").count() == 1
    assert services.run_due_schedules(utc(2026, 7, 12, 6)) == 0


@pytest.mark.django_db
def test_recipients_must_be_allowed_to_see_the_data(world):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        make_schedule(world, recipients=[world.victor])
    assert "recipients" in caught.value.message_dict
    with pytest.raises(ValidationError):
        make_schedule(world, recipients=[world.mallory])
    assert not ExtractSchedule.objects.exists()


@pytest.mark.django_db
def test_schedule_changes_are_audited(world):
    schedule = make_schedule(world)
    services.schedule_delete(
        access=Access.for_membership(world.m_fiona), actor=Actor(user=world.fiona), schedule=schedule
    )
    actions = list(AuditEvent.objects.filter(action__startswith="extract_schedule").values_list("action", flat=True))
    assert sorted(actions) == ["extract_schedule.created", "extract_schedule.deleted"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_racing_runs_make_one_file(world, monkeypatch):
    # given a schedule that is due
    enqueued = []
    monkeypatch.setattr(services, "_enqueue", lambda pk: transaction.on_commit(lambda: enqueued.append(pk)))
    schedule = make_schedule(world)
    ExtractSchedule.objects.filter(pk=schedule.pk).update(created_at=utc(2026, 7, 1))
    now = utc(2026, 7, 11, 6)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def beat():
        try:
            mine = ExtractSchedule.objects.select_related("merchant", "owner").get(pk=schedule.pk)
            barrier.wait(timeout=10)
            results.append(services.schedule_run(mine, now))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    # when two beats (or a beat and a retried task) run at the same moment
    threads = [threading.Thread(target=beat) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    # then exactly one extract exists for the period, made by exactly one of them
    assert errors == []
    assert len([r for r in results if r is not None]) == 1
    assert Extract.objects.filter(schedule=schedule).count() == 1
    extract = Extract.objects.get()
    assert extract.state == ExtractState.QUEUED
    assert enqueued == [extract.pk]  # one task for it, from the run that made it
