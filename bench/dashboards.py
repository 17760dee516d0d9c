"""Benchmark of the dashboards on 10,000,000 transactions in PostgreSQL.

What it does, on this machine only:

1. creates a throw-away PostgreSQL database (``bench_dashboards``; dropped at the end unless
   ``--keep``) and migrates it;
2. creates two merchants (70 % / 30 % of the rows; 3 and 2 stores, 2 terminals each), a Finance
   member of the first, a member limited to one of its stores, and an API key;
3. loads ``--rows`` transactions over two years with ``COPY`` (secondary indexes dropped first
   and rebuilt after, as a bulk load would): every method, type and state, refunds, captures,
   cancellations, MULTIBANCO references paid hours or days after issue, declines with their
   return codes; then ``VACUUM ANALYZE``;
4. builds the rollups with ``rollups_rebuild`` (timed);
5. measures p50/p95, as whole requests through Django in this process (middleware, session,
   access checks, the view, the template or the JSON): the cockpit; the history for 30 days by
   day, 12 months by week and 2 years by month, with and without a store filter, and for the
   store-limited member; each metrics API call;
6. measures the baseline: the same aggregates computed with ``GROUP BY`` over the transactions
   (the classification the rollups use, straight on ``payments_transaction``);
7. measures notification processing (store + apply, as the worker does) with the rollup mark
   and without it, in notifications per second.

    make bench-dashboards
    .venv/bin/python bench/dashboards.py --rows 200000 --runs 10 --keep
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "bench_dashboards"
DAYS = 730

METHODS = [("MBWAY", 40), ("CARD", 30), ("REFERENCE", 18), ("TOKEN", 4), ("MANDATE", 4), ("XPAY", 4)]
CODES = ["01.106.0004", "01.105.0006", "01.103.0002", "E0707", "E0502", "01.302.0001"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=40, help="runs of each dashboard request")
    parser.add_argument("--baseline-runs", type=int, default=5, help="runs of each GROUP BY baseline")
    parser.add_argument("--notifications", type=int, default=2000, help="notifications processed, per variant")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--db", default=DB_NAME)
    parser.add_argument("--keep", action="store_true", help="keep the database (and reuse it if filled)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the rollups of a kept database")
    return parser.parse_args()


def create_database(args) -> bool:
    import psycopg

    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.db]).fetchone()
        if exists and args.keep:
            return False
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db}"')
        conn.execute(f'CREATE DATABASE "{args.db}"')
    return True


def drop_database(args) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db}"')


def make_world():
    from backoffice.models import Merchant, Store, Terminal

    merchants = []
    for slug, stores in (("bench-a", 3), ("bench-b", 2)):
        merchant, _ = Merchant.objects.get_or_create(
            slug=slug, defaults={"name": slug.title(), "legal_name": f"{slug} Lda.", "nif": "501964843"}
        )
        for s in range(stores):
            store, _ = Store.objects.get_or_create(merchant=merchant, code=f"s{s}", defaults={"name": f"Store {s}"})
            for t in range(2):
                number = 100_000 + len(merchants) * 1000 + s * 10 + t
                Terminal.objects.get_or_create(terminal_id=number, defaults={"store": store, "name": f"T{number}"})
        merchants.append(merchant)
    return merchants


def _weighted(rng: random.Random, items):
    roll, bound = rng.random() * sum(w for _v, w in items), 0
    for value, weight in items:
        bound += weight
        if roll < bound:
            return value
    return items[-1][0]


def rows_for(count: int, merchants, terminals, now: datetime, seed: int = 7):
    """Tab-separated lines for COPY, one transaction each."""
    rng = random.Random(seed)
    start = now - timedelta(days=DAYS)
    span = DAYS * 86400
    a, b = merchants
    for i in range(count):
        merchant = b if i % 10 < 3 else a
        terminal = rng.choice(terminals[merchant.pk])
        created = start + timedelta(seconds=span * i / count + rng.random() * 30)
        method = _weighted(rng, METHODS)
        roll = rng.random()
        amount = round(rng.uniform(1, 200), 2)
        ref_status = ref_paid = ""
        code = ""
        authorised = captured = refunded = cancelled = 0
        if roll < 0.04:
            ptype, state, status = (
                "RFND",
                *(("succeeded", "Success") if rng.random() < 0.95 else ("declined", "Declined")),
            )
        elif roll < 0.06:
            ptype, method, state, status = "CAPT", "CARD", "succeeded", "Success"
        elif roll < 0.07:
            ptype, method, state, status = "CAUT", "CARD", "succeeded", "Success"
        elif method == "REFERENCE":
            ptype = "PREF"
            state = _weighted(rng, [("paid", 60), ("awaiting_payment", 20), ("expired", 15), ("cancelled", 5)])
            status = {"paid": "Success", "awaiting_payment": "Success", "expired": "Expired", "cancelled": "Success"}[
                state
            ]
            ref_status = {"paid": "PAID", "awaiting_payment": "UNPAID", "expired": "EXPIRED", "cancelled": "CANCELLED"}[
                state
            ]
            if state == "paid":
                ref_paid = (created + timedelta(hours=rng.expovariate(1 / 20))).isoformat()
                authorised = captured = amount
        elif method == "CARD" and rng.random() < 0.15:
            ptype = "AUTH"
            state = _weighted(rng, [("paid", 60), ("authorised", 20), ("cancelled", 10), ("declined", 10)])
            status = "Declined" if state == "declined" else "Success"
            if state != "declined":
                authorised = amount
            if state == "paid":
                captured = amount
            if state == "cancelled":
                cancelled = amount
        else:
            ptype = "PURS"
            states = [("paid", 72), ("declined", 8), ("failed", 3), ("pending", 2), ("refunded", 4)]
            states += [("partially_refunded", 3), ("expired", 8 if method == "MBWAY" else 0)]
            state = _weighted(rng, states)
            status = {"declined": "Declined", "failed": "Error", "pending": "Pending", "expired": "Expired"}.get(
                state, "Success"
            )
            if status == "Success":
                authorised = captured = amount
                refunded = (
                    amount if state == "refunded" else round(amount / 3, 2) if state == "partially_refunded" else 0
                )
        if state in ("declined", "failed"):
            code = rng.choice(CODES[:3] if state == "declined" else CODES[3:])
        stamp = created.isoformat()
        yield (
            "\t".join(
                (
                    str(merchant.pk),
                    str(terminal.store_id),
                    str(terminal.pk),
                    str(terminal.terminal_id),
                    f"s2dash{i:014d}",
                    method,
                    ptype,
                    status,
                    state,
                    f"{amount:.2f}",
                    "EUR",
                    code,
                    ref_status,
                    ref_paid or "\\N",
                    f"{authorised:.2f}",
                    f"{captured:.2f}",
                    f"{refunded:.2f}",
                    f"{cancelled:.2f}",
                    stamp,
                    stamp,
                    stamp,
                )
            )
            + "\n"
        )


COLUMNS = [
    "merchant_id",
    "store_id",
    "terminal_id",
    "terminal_number",
    "transaction_id",
    "payment_method",
    "payment_type",
    "payment_status",
    "state",
    "amount",
    "currency",
    "return_code",
    "reference_status",
    "reference_paid_at",
    "authorised_amount",
    "captured_amount",
    "refunded_amount",
    "cancelled_amount",
    "created_at",
    "updated_at",
    "changed_at",
]


def fill(rows: int, merchants) -> None:
    from django.db import connection

    from backoffice.models import Terminal

    terminals = {m.pk: list(Terminal.objects.filter(store__merchant=m).order_by("pk")) for m in merchants}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'payments_transaction' "
            "AND indexname NOT LIKE '%%pkey' AND indexdef NOT LIKE 'CREATE UNIQUE%%'"
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute(
            "SELECT column_name, data_type, column_default FROM information_schema.columns "
            "WHERE table_name = 'payments_transaction' AND is_nullable = 'NO' AND column_name <> 'id'"
        )
        missing = [(c, t) for c, t, _d in cursor.fetchall() if c not in COLUMNS]
    defaults = {"boolean": "false", "numeric": "0", "integer": "0", "bigint": "0", "jsonb": "[]"}
    extra = [(c, defaults.get(t, "")) for c, t in missing]
    suffix = "".join("\t" + v for _c, v in extra)
    columns = [*COLUMNS, *(c for c, _v in extra)]
    started = time.perf_counter()
    now = datetime.now(UTC)
    raw = connection.connection if connection.connection else None
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cur, cur.copy(f"COPY payments_transaction ({', '.join(columns)}) FROM STDIN") as copy:
        chunk = []
        for line in rows_for(rows, merchants, terminals, now):
            chunk.append(line[:-1] + suffix + "\n")
            if len(chunk) == 20000:
                copy.write("".join(chunk))
                chunk = []
        if chunk:
            copy.write("".join(chunk))
    raw.commit() if not raw.autocommit else None
    print(f"copied {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
    with connection.cursor() as cursor:
        started = time.perf_counter()
        for _name, definition in indexes:
            cursor.execute(definition)
        print(f"rebuilt {len(indexes)} indexes in {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        cursor.execute("VACUUM ANALYZE payments_transaction")
        print(f"vacuum analyze in {time.perf_counter() - started:.1f} s", flush=True)


def percentile(values: list[float], p: float) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def measure(name: str, fn, runs: int, results: list, warmup: int = 2) -> None:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    p50, p95 = statistics.median(times), percentile(times, 95)
    results.append((name, p50, p95))
    print(f"  {name:<52} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms", flush=True)


def baseline_query(merchant_id: int, since: datetime, until: datetime, grain: str, store_id: int | None = None):
    """The chart's aggregate straight from the transactions: the same classification, grouped
    by Lisbon bucket, method, kind and outcome (what the rollups answer for the time series)."""
    from django.db.models import Count, Sum
    from django.db.models.functions import Trunc

    from payments.dashboards.services import LISBON, kind_expression, outcome_expression
    from payments.models import Transaction

    qs = Transaction.objects.filter(merchant_id=merchant_id, created_at__gte=since, created_at__lt=until)
    if store_id:
        qs = qs.filter(store_id=store_id)
    return list(
        qs.annotate(b=Trunc("created_at", grain, tzinfo=LISBON), k=kind_expression(), o=outcome_expression())
        .values("b", "payment_method", "k", "o")
        .annotate(n=Count("pk"), total=Sum("amount"))
        .order_by()
    )


def processing(count: int, merchant, with_rollups: bool) -> float:
    """Notifications stored and processed (the worker's path) per second."""
    import json

    from django.utils import timezone

    from payments.dashboards import services as rollup_services
    from payments.sibs.notification import parse_notification
    from webhooks import services
    from webhooks.models import InboundNotification

    original = rollup_services.transaction_changed
    if not with_rollups:
        rollup_services.transaction_changed = lambda txn: None
    tag = "r" if with_rollups else "n"
    ids = []
    for i in range(count):
        body = {
            "returnStatus": {"statusMsg": "Success", "statusCode": "000"},
            "paymentStatus": "Success" if i % 5 else "Declined",
            "paymentMethod": "MBWAY",
            "transactionID": f"s2proc{tag}{time.time_ns()}{i:08d}"[:40],
            "transactionDateTime": timezone.now().isoformat(),
            "amount": {"currency": "EUR", "value": "16.20"},
            "merchant": {"transactionId": f"order-{tag}-{i}", "terminalId": 101000},
            "paymentType": "PURS",
            "notificationID": f"proc-{tag}-{time.time_ns()}-{i}",
        }
        raw = json.dumps(body)
        n = parse_notification(raw.encode())
        ids.append(
            InboundNotification.objects.create(
                merchant=merchant,
                notification_id=n.notification_id,
                transaction_ref=n.transaction_id,
                received_at=timezone.now(),
                body="",
                headers={},
                plaintext=raw,
            ).pk
        )
    started = time.perf_counter()
    for pk in ids:
        assert services.notification_process(inbound_id=pk) == "processed"
    elapsed = time.perf_counter() - started
    rollup_services.transaction_changed = original
    return count / elapsed


def main() -> None:
    args = parse_args()
    url = f"{args.pg}/{args.db}"
    env = {**os.environ, "DATABASE_URL": url, "BACKOFFICE_ENV": "development"}
    env.pop("REDIS_URL", None)
    must_fill = create_database(args)
    if must_fill:
        started = time.perf_counter()
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        print(f"migrated in {time.perf_counter() - started:.1f} s", flush=True)
    os.environ.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "backoffice.settings"})
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    from backoffice.access import Access
    from backoffice.audit import SYSTEM
    from backoffice.models import Membership, Store, User
    from backoffice.roles import Role
    from backoffice.services import api_key_create
    from payments.dashboards import services
    from payments.dashboards.models import Rollup
    from payments.models import Transaction

    settings.ALLOWED_HOSTS = ["*"]
    merchants = make_world()
    a = merchants[0]
    if must_fill:
        fill(args.rows, merchants)
    if must_fill or args.rebuild:
        started = time.perf_counter()
        done = services.rollups_rebuild()
        print(f"rollups_rebuild: {done} in {time.perf_counter() - started:.1f} s", flush=True)
    print(
        f"{Transaction.objects.count():,} transactions ({Transaction.objects.filter(merchant=a).count():,} "
        f"of {a.slug}); {Rollup.objects.count():,} rollup rows",
        flush=True,
    )
    store = Store.objects.filter(merchant=a).order_by("pk").first()
    finance, _ = User.objects.get_or_create(email="finance@bench.example", defaults={"full_name": "Finance"})
    Membership.objects.get_or_create(user=finance, merchant=a, defaults={"role": Role.FINANCE})
    limited, _ = User.objects.get_or_create(email="porto@bench.example", defaults={"full_name": "Limited"})
    membership, created = Membership.objects.get_or_create(user=limited, merchant=a, defaults={"role": Role.VIEWER})
    if created:
        membership.stores.set([store])
    browser, limited_browser = Client(), Client()
    browser.force_login(finance)
    limited_browser.force_login(limited)
    _key, plaintext = api_key_create(
        access=Access(merchant=a, role=Role.OWNER), actor=SYSTEM, name=f"bench-{time.time_ns()}", role=Role.FINANCE
    )
    api = Client(headers={"Authorization": f"Bearer {plaintext}"})
    today = timezone.now().astimezone(services.LISBON).date()
    two_years = {"from": (today - timedelta(days=729)).isoformat(), "to": today.isoformat(), "grain": "month"}
    cases = {
        "30 days by day": {"period": "30d"},
        "12 months by week": {"period": "12m", "grain": "week"},
        "2 years by month": two_years,
    }
    results: list = []
    base = f"/m/{a.slug}/dashboards/"

    def get(client, path, params=None, status=200):
        def run():
            response = client.get(path, params or {})
            assert response.status_code == status, (path, params, response.status_code, response.content[:500])

        return run

    print(f"\nDashboard requests ({args.runs} runs each), whole requests through Django:", flush=True)
    measure("cockpit", get(browser, base), args.runs, results)
    measure("cockpit, store-limited member", get(limited_browser, base), args.runs, results)
    measure(
        "cockpit live poll (nothing changed)",
        get(browser, f"{base}live/", {"v": "2999-01-01T00:00:00+00:00"}, 204),
        args.runs,
        results,
    )
    for name, params in cases.items():
        measure(f"history {name}", get(browser, f"{base}history/", params), args.runs, results)
        measure(
            f"history {name}, one store",
            get(browser, f"{base}history/", {**params, "store": store.pk}),
            args.runs,
            results,
        )
        measure(
            f"history {name}, store-limited member", get(limited_browser, f"{base}history/", params), args.runs, results
        )
    print("\nMetrics API:", flush=True)
    for name, params in cases.items():
        measure(f"GET /api/v1/metrics/summary {name}", get(api, "/api/v1/metrics/summary", params), args.runs, results)
        measure(
            f"GET /api/v1/metrics/timeseries {name}", get(api, "/api/v1/metrics/timeseries", params), args.runs, results
        )

    print(
        f"\nBaseline: the same aggregates with GROUP BY over the transactions ({args.baseline_runs} runs each):",
        flush=True,
    )
    now = timezone.now()
    hour = services.hour_of(now)
    spans = {
        "cockpit (3 x 24 hours)": [
            (hour - timedelta(hours=47), hour + timedelta(hours=1), "hour"),
            (hour - timedelta(days=7, hours=23), hour - timedelta(days=6, hours=23), "hour"),
        ],
        "30 days by day": [(services.lisbon_midnight(today - timedelta(days=59)), now + timedelta(hours=1), "day")],
        "12 months by week": [
            (services.lisbon_midnight(today - timedelta(days=730)), now + timedelta(hours=1), "week")
        ],
        "2 years by month": [
            (services.lisbon_midnight(today - timedelta(days=1460)), now + timedelta(hours=1), "month")
        ],
    }
    for name, ranges in spans.items():
        for store_id in (None, store.pk):
            label = f"GROUP BY {name}" + (", one store" if store_id else "")

            def run(ranges=ranges, store_id=store_id):
                for since, until, grain in ranges:
                    baseline_query(a.pk, since, until, grain, store_id)

            measure(label, run, args.baseline_runs, results, warmup=1)

    print(
        f"\nNotification processing ({args.notifications} per variant, store + apply as the worker does):", flush=True
    )
    without = processing(args.notifications, a, with_rollups=False)
    with_ = processing(args.notifications, a, with_rollups=True)
    print(f"  without the rollup mark: {without:8.0f} notifications/s", flush=True)
    print(f"  with the rollup mark:    {with_:8.0f} notifications/s", flush=True)
    started = time.perf_counter()
    swept = services.rollups_sweep()
    print(f"  sweep of the marks left by them: {swept} marks in {(time.perf_counter() - started) * 1000:.0f} ms")

    pages = [r for r in results if not r[0].startswith("GROUP BY")]
    worst = max(pages, key=lambda r: r[2])
    cockpit_worst = max((r for r in results if r[0].startswith("cockpit")), key=lambda r: r[2])
    print(f"\nworst dashboard p95: {worst[2]:.1f} ms ({worst[0]}); worst cockpit p95: {cockpit_worst[2]:.1f} ms")
    if not args.keep:
        drop_database(args)


if __name__ == "__main__":
    main()
