"""Benchmark of the transaction list on 1,000,000 transactions in PostgreSQL.

What it does, on this machine only:

1. creates a throw-away PostgreSQL database (``bench_transactions``; dropped at the end unless
   ``--keep``) and migrates it;
2. creates two merchants (80 % / 20 % of the rows), their stores and terminals;
3. fills ``--rows`` transactions with one ``INSERT … SELECT generate_series`` (secondary indexes
   dropped first and rebuilt after, as a bulk load would), spread over 90 days, methods, types,
   states, amounts, MB WAY phones and MULTIBANCO references; then ``ANALYZE``;
4. measures the server time of the code the page and the API run (``payments.listing``: parse
   the query string, fetch the page as model instances), ``--runs`` times each, for: the first
   page, page 1,000 (50,000 rows deep, by cursor), a filtered page (status + method + 30 days +
   store), searches (merchant transaction id, MULTIBANCO reference, MB WAY last digits, amount),
   the status-tab counts, the live poll, and a store-limited first page;
5. measures the first page, page 1,000, the filtered page and a search again as whole requests
   through Django (middleware, session, access checks, the view, the HTML template; and the same
   through ``GET /api/v1/transactions`` with an API key), in this process, without the network;
6. prints p50/p95 per case and the ``EXPLAIN (ANALYZE, BUFFERS)`` of every query of one run.

    make bench-transactions
    .venv/bin/python bench/transactions.py --rows 200000 --runs 50 --keep
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "bench_transactions"
DAYS = 90

# Weighted choices, written as SQL CASE over a per-row hash in [0, 100).
METHODS = [("MBWAY", 40), ("CARD", 30), ("REFERENCE", 20), ("TOKEN", 4), ("MANDATE", 3), ("XPAY", 3)]
STATES = [
    ("paid", 62, "Success"),
    ("pending", 7, "Pending"),
    ("declined", 8, "Declined"),
    ("failed", 3, "Error"),
    ("expired", 5, "Expired"),
    ("refunded", 4, "Success"),
    ("partially_refunded", 3, "Success"),
    ("authorised", 3, "Success"),
    ("cancelled", 2, "Success"),
    ("succeeded", 3, "Success"),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--db", default=DB_NAME)
    parser.add_argument("--keep", action="store_true", help="keep the database (and reuse it if filled)")
    parser.add_argument("--no-explain", action="store_true")
    return parser.parse_args()


def case_sql(expr: str, weights: list[tuple], value_index: int = 0) -> str:
    parts, bound = [], 0
    for item in weights:
        bound += item[1]
        parts.append(f"WHEN {expr} < {bound} THEN '{item[value_index]}'")
    return "CASE " + " ".join(parts[:-1]) + f" ELSE '{weights[-1][value_index]}' END"


def create_database(args) -> bool:
    """Create (or reuse with --keep) the database; True when it must be filled."""
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


def migrate(env: dict) -> None:
    started = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    print(f"migrated in {time.perf_counter() - started:.1f} s")


def make_world():
    from backoffice.models import Merchant, Store, Terminal

    merchants = []
    for slug, stores in (("bench-a", 4), ("bench-b", 2)):
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


def fill(rows: int, merchants) -> None:
    from django.db import connection

    from backoffice.models import Terminal

    term = {m.pk: list(Terminal.objects.filter(store__merchant=m).order_by("pk")) for m in merchants}
    a, b = merchants
    ta, tb = term[a.pk], term[b.pk]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'payments_transaction' "
            "AND indexname NOT LIKE '%%pkey' AND indexdef NOT LIKE 'CREATE UNIQUE%%'"
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'payments_transaction' AND is_nullable = 'NO' AND column_name <> 'id'"
        )
        required = dict(cursor.fetchall())

    h = "((i * 2654435761) % 4294967296) % 100"  # a cheap, well-spread hash per row
    h2 = "((i * 40503) % 65536) % 100"
    is_b = "(i % 5 = 0)"
    terminal_a = "ARRAY[" + ",".join(str(t.pk) for t in ta) + "]"
    store_a = "ARRAY[" + ",".join(str(t.store_id) for t in ta) + "]"
    number_a = "ARRAY[" + ",".join(str(t.terminal_id) for t in ta) + "]"
    terminal_b = "ARRAY[" + ",".join(str(t.pk) for t in tb) + "]"
    store_b = "ARRAY[" + ",".join(str(t.store_id) for t in tb) + "]"
    number_b = "ARRAY[" + ",".join(str(t.terminal_id) for t in tb) + "]"
    pick_a = f"1 + (i / 7) % {len(ta)}"
    pick_b = f"1 + (i / 7) % {len(tb)}"
    method = case_sql(h, METHODS)
    phone = "lpad(((i * 7919) % 10000)::text, 4, '0')"
    reference = "lpad(((i::bigint * 104729) % 1000000000)::text, 9, '0')"
    explicit = {
        "merchant_id": f"CASE WHEN {is_b} THEN {b.pk} ELSE {a.pk} END",
        "terminal_id": f"CASE WHEN {is_b} THEN ({terminal_b})[{pick_b}] ELSE ({terminal_a})[{pick_a}] END",
        "store_id": f"CASE WHEN {is_b} THEN ({store_b})[{pick_b}] ELSE ({store_a})[{pick_a}] END",
        "terminal_number": f"CASE WHEN {is_b} THEN ({number_b})[{pick_b}] ELSE ({number_a})[{pick_a}] END",
        "transaction_id": "'s2bench' || lpad(i::text, 12, '0')",
        "merchant_transaction_id": "'order-' || i",
        "internal_transaction_id": "CASE WHEN i % 3 = 0 THEN NULL ELSE 'int-' || i END",
        "payment_method": method,
        "payment_type": f"CASE WHEN {h2} < 3 THEN 'RFND' WHEN {method} = 'CARD' AND {h2} < 15 THEN 'AUTH' "
        f"WHEN {method} = 'REFERENCE' THEN 'PREF' ELSE 'PURS' END",
        "state": case_sql(h2, STATES),
        "payment_status": case_sql(h2, STATES, 2),
        # ~20,000 distinct amounts, plus two very common ones (10.00 on 2 % of the rows, 25.00)
        "amount": "CASE WHEN i % 50 = 1 THEN 10.00 WHEN i % 77 = 1 THEN 25.00 "
        "ELSE round(1 + ((i * 7919) % 20000) / 100.0, 2) END",
        "currency": "'EUR'",
        "mbway_alias_masked": f"CASE WHEN {method} = 'MBWAY' THEN '351#*****' || {phone} ELSE '' END",
        "mbway_alias_last_digits": f"CASE WHEN {method} = 'MBWAY' THEN {phone} ELSE '' END",
        "reference_entity": f"CASE WHEN {method} = 'REFERENCE' THEN '40200' ELSE '' END",
        "reference_number": f"CASE WHEN {method} = 'REFERENCE' THEN {reference} ELSE '' END",
        "created_at": f"now() - interval '{DAYS} days' * (1 - i::float8 / {rows}) - interval '1 second' * (i % 7)",
        "updated_at": f"now() - interval '{DAYS} days' * (1 - i::float8 / {rows})",
        "changed_at": f"now() - interval '{DAYS} days' * (1 - i::float8 / {rows})",
        "transaction_datetime": f"now() - interval '{DAYS} days' * (1 - i::float8 / {rows})",
        "warnings": "'[]'::jsonb",
    }
    defaults = {
        "boolean": "false",
        "numeric": "0",
        "integer": "0",
        "bigint": "0",
        "jsonb": "'[]'::jsonb",
        "timestamp with time zone": "now()",
    }
    columns = list(explicit)
    values = [explicit[c] for c in columns]
    for column, data_type in required.items():
        if column not in explicit:
            columns.append(column)
            values.append(defaults.get(data_type, "''"))
    sql = (
        f"INSERT INTO payments_transaction ({', '.join(columns)}) "  # noqa: S608 (constants of this script)
        f"SELECT {', '.join(values)} FROM generate_series(1::bigint, {rows}) AS i"
    )
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(sql)
        print(f"inserted {rows:,} rows in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        for _name, definition in indexes:
            cursor.execute(definition)
        print(f"rebuilt {len(indexes)} indexes in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        cursor.execute("VACUUM ANALYZE payments_transaction")
        print(f"vacuum analyze in {time.perf_counter() - started:.1f} s")


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def measure(name: str, fn, runs: int, results: list) -> None:
    for _ in range(5):
        fn()
    times = []
    for i in range(runs):
        started = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - started) * 1000)
    p50, p95 = statistics.median(times), percentile(times, 95)
    results.append((name, p50, p95, max(times)))
    print(f"  {name:<38} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   max {max(times):7.2f} ms", flush=True)


def explain(name: str, fn) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fn(0)
    print(f"\n=== {name}: {len(captured.captured_queries)} queries")
    for query in captured.captured_queries:
        sql = query["sql"]
        print(f"\n-- {sql[:600]}{' …' if len(sql) > 600 else ''}")
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
            for (line,) in cursor.fetchall():
                print("   " + line)


def through_django(merchant, *, deep_cursor: str, filtered: str, sample: list[str], runs: int) -> list:
    """The same cases as whole requests through Django in this process (no network): middleware,
    session, access checks, the view, and the HTML template or the API's JSON."""
    from urllib.parse import quote

    from django.test import Client
    from django.urls import reverse

    from backoffice.access import Access
    from backoffice.audit import SYSTEM
    from backoffice.models import Membership, User
    from backoffice.roles import Role
    from backoffice.services import api_key_create

    user, _ = User.objects.get_or_create(email="bench-finance@bench.example")
    Membership.objects.get_or_create(user=user, merchant=merchant, defaults={"role": Role.FINANCE})
    browser = Client()
    browser.force_login(user)
    owner = Access(merchant=merchant, role=Role.OWNER)
    _key, plaintext = api_key_create(access=owner, actor=SYSTEM, name="bench", role=Role.VIEWER)
    api = Client(headers={"Authorization": f"Bearer {plaintext}"})
    page_url = reverse("payments:transactions", kwargs={"merchant": merchant.slug})
    api_url = reverse("api-transactions")

    def get(client, url: str) -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        if hasattr(response, "render") and not response.is_rendered:
            response.render()
        assert response.content

    cases = {
        "page: first page": lambda i=0: get(browser, page_url),
        "page: page 1,000": lambda i=0: get(browser, f"{page_url}?cursor={quote(deep_cursor)}"),
        "page: filtered": lambda i=0: get(browser, f"{page_url}?{filtered}"),
        "page: search (order id)": lambda i=0: get(browser, f"{page_url}?q={quote(sample[i % len(sample)])}"),
        "API: first page": lambda i=0: get(api, api_url),
        "API: page 1,000": lambda i=0: get(api, f"{api_url}?cursor={quote(deep_cursor)}"),
        "API: filtered": lambda i=0: get(api, f"{api_url}?{filtered}"),
        "API: search (order id)": lambda i=0: get(api, f"{api_url}?q={quote(sample[i % len(sample)])}"),
    }
    print(f"\nWhole request through Django (session, access, view, rendering), {runs} runs each:")
    results: list = []
    for name, fn in cases.items():
        measure(name, fn, runs, results)
    return results


def main() -> None:
    args = parse_args()
    url = f"{args.pg}/{args.db}"
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": "", "BACKOFFICE_ENV": "development"}
    env.pop("REDIS_URL")
    must_fill = create_database(args)
    if must_fill:
        migrate(env)
    os.environ.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "backoffice.settings"})
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.db import connection
    from django.http import QueryDict
    from django.utils import timezone

    from backoffice.access import Access
    from backoffice.models import Store
    from backoffice.roles import Role
    from payments.models import Transaction
    from payments.selectors import listing

    merchants = make_world()
    if must_fill:
        fill(args.rows, merchants)
    a = merchants[0]
    count = Transaction.objects.count()
    print(f"{count:,} transactions; merchant {a.slug}: {Transaction.objects.filter(merchant=a).count():,}")
    owner = Access(merchant=a, role=Role.OWNER)
    store = Store.objects.filter(merchant=a).order_by("pk").first()
    limited = Access(merchant=a, role=Role.OPERATOR, store_ids=frozenset({store.pk}))

    def page(access, query: str, cursor: str | None = None):
        filters, errors, _form = listing.parse_filters(QueryDict(query), access=access)
        assert not errors, errors
        decoded = listing.Cursor.decode(cursor) if cursor else None
        return listing.transaction_page(access=access, filters=filters, cursor=decoded)

    deep_row = (
        Transaction.objects.filter(merchant=a)
        .order_by("-created_at", "-id")
        .values_list("created_at", "id")[999 * listing.PAGE_SIZE - 1]
    )
    deep_cursor = listing.Cursor(created_at=deep_row[0], pk=deep_row[1]).encode()
    sample = list(
        Transaction.objects.filter(merchant=a, store=store)
        .order_by("?")
        .values_list("merchant_transaction_id", flat=True)[:50]
    )
    refs = list(
        Transaction.objects.filter(merchant=a, payment_method="REFERENCE")
        .exclude(reference_number="")
        .values_list("reference_number", flat=True)[:50]
    )
    live_since = listing.live_token(timezone.now() - listing.LIVE_OVERLAP)
    filtered = f"status=paid&method=MBWAY&period=30d&store={store.pk}"
    second_cursor = page(owner, filtered).next_cursor

    cases = {
        "first page": lambda i=0: page(owner, ""),
        "page 1,000 (cursor, 50,000 rows deep)": lambda i=0: page(owner, "", deep_cursor),
        "filtered: paid+MBWAY+30d+store": lambda i=0: page(owner, filtered),
        "filtered page 2 (cursor)": lambda i=0: page(owner, filtered, second_cursor),
        "search: merchant transaction id": lambda i=0: page(owner, f"q={sample[i % len(sample)]}"),
        "search: MULTIBANCO reference": lambda i=0: page(owner, f"q={refs[i % len(refs)]}"),
        "search: MB WAY last 4 digits": lambda i=0: page(owner, f"q={(i * 37 + 1) % 10000:04d}"),
        "search: amount 10,00 (20,000 matches)": lambda i=0: page(owner, "q=10,00"),
        "search: amount 73.19 (~40 matches)": lambda i=0: page(owner, "q=73.19"),
        "tab counts (6 capped counts)": lambda i=0: listing.tab_counts(
            access=owner, filters=listing.parse_filters(QueryDict(""), access=owner)[0]
        ),
        "live poll (nothing new)": lambda i=0: listing.live_changes(
            access=owner, filters=listing.parse_filters(QueryDict(""), access=owner)[0], token=live_since
        ),
        "store-limited first page": lambda i=0: page(limited, ""),
    }
    print(f"\nServer time of payments.listing (parse + query + model instances), {args.runs} runs each:")
    results: list = []
    for name, fn in cases.items():
        measure(name, fn, args.runs, results)
    if not args.no_explain:
        for name, fn in cases.items():
            explain(name, fn)
    whole = through_django(a, deep_cursor=deep_cursor, filtered=filtered, sample=sample, runs=args.runs)
    worst, worst_whole = max(r[2] for r in results), max(r[2] for r in whole)
    print(f"\nworst p95: listing code {worst:.2f} ms, whole request {worst_whole:.2f} ms (goal: under 50 ms)")
    connection.close()
    if not args.keep:
        drop_database(args)


if __name__ == "__main__":
    main()
