"""Benchmark of settlement file import and matching on PostgreSQL.

What it does, on this machine only:

1. creates a throw-away PostgreSQL database (``bench_reconciliation``; dropped at the end unless
   ``--keep``) and migrates it;
2. fills ``--rows`` successful transactions of one merchant (four terminals) with one
   ``INSERT … SELECT generate_series``, dated yesterday;
3. writes their settlement file (layout v1, ``;``-separated, fees) straight from the database
   with ``COPY … TO STDOUT``, with deliberate differences: one line in 100,000 a cent off, one
   in 200,000 left out, and 10 lines for transactions that do not exist;
4. baselines, in this run: reading the file through the strict parser alone (no database),
   and a bare ``COPY`` of the file into an unindexed table (the floor of any import);
5. imports and matches the file in a fresh process, through the service an upload uses
   (``settlement_file_import``), and prints lines per second end to end and the process's peak
   resident memory; then imports the same file again (which must add nothing) and prints its time.

    make bench-reconciliation
    .venv/bin/python bench/reconciliation.py --rows 100000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "bench_reconciliation"
FILE_NAME = "SIBS_Reconciliation_20261202001500.csv"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--db", default=DB_NAME)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--child", choices=["import"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    return parser.parse_args()


def setup_django(url: str) -> None:
    os.environ.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "backoffice.settings", "LOG_LEVEL": "WARNING"})
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def create_database(args) -> None:
    import psycopg

    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db}"')
        conn.execute(f'CREATE DATABASE "{args.db}"')


def drop_database(args) -> None:
    import psycopg

    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')


def migrate(url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "BACKOFFICE_ENV": "development"}
    env.pop("REDIS_URL", None)
    started = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    print(f"migrated in {time.perf_counter() - started:.1f} s")


def fill(rows: int) -> int:
    from django.db import connection

    from backoffice.models import Merchant, Store, Terminal

    merchant = Merchant.objects.create(name="Bench", slug="bench", legal_name="Bench Lda.", nif="501964843")
    store = Store.objects.create(merchant=merchant, code="s", name="Store")
    terminals = [Terminal.objects.create(store=store, terminal_id=500_000 + t, name=f"T{t}") for t in range(4)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'payments_transaction' AND is_nullable = 'NO' AND column_name <> 'id'"
        )
        required = dict(cursor.fetchall())
    pks = "ARRAY[" + ",".join(str(t.pk) for t in terminals) + "]"
    numbers = "ARRAY[" + ",".join(str(t.terminal_id) for t in terminals) + "]"
    explicit = {
        "merchant_id": str(merchant.pk),
        "store_id": str(store.pk),
        "terminal_id": f"({pks})[1 + i % 4]",
        "terminal_number": f"({numbers})[1 + i % 4]",
        "transaction_id": "'s2bench' || lpad(i::text, 12, '0')",
        "merchant_transaction_id": "'order-' || i",
        "payment_method": "CASE WHEN i % 3 = 0 THEN 'MBWAY' ELSE 'CARD' END",
        "payment_type": "'PURS'",
        "payment_status": "'Success'",
        "state": "'paid'",
        "amount": "round(1 + ((i * 7919) % 20000) / 100.0, 2)",
        "currency": "'EUR'",
        "transaction_datetime": "date_trunc('day', now()) - interval '1 day' + interval '1 second' * (i % 86000)",
        "created_at": "date_trunc('day', now()) - interval '1 day' + interval '1 second' * (i % 86000)",
        "warnings": "'[]'::jsonb",
    }
    defaults = {"boolean": "false", "numeric": "0", "integer": "0", "bigint": "0", "jsonb": "'[]'::jsonb"}
    columns, values = list(explicit), list(explicit.values())
    for column, data_type in required.items():
        if column not in explicit:
            columns.append(column)
            values.append(defaults.get(data_type, "now()" if "timestamp" in data_type else "''"))
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO payments_transaction ({', '.join(columns)}) "  # noqa: S608 (constants of this script)
            f"SELECT {', '.join(values)} FROM generate_series(1::bigint, {rows}) AS i"
        )
        cursor.execute("VACUUM ANALYZE payments_transaction")
    print(f"filled {rows:,} transactions in {time.perf_counter() - started:.1f} s")
    return merchant.pk


def write_file(path: Path) -> int:
    """The settlement file, streamed from the database (fees: 1.4 % + 0.05 card, 0.7 % MB WAY)."""
    from django.db import connection

    fee = "round(CASE WHEN payment_method = 'CARD' THEN amount * 0.014 + 0.05 ELSE amount * 0.007 END, 2)"
    gross = "(amount + CASE WHEN id % 100000 = 7 THEN 0.01 ELSE 0 END)"
    query = f"""
        SELECT to_char(current_date, 'YYYY-MM-DD'), 'PAY-BENCH', transaction_id, merchant_transaction_id,
               terminal_number, to_char(transaction_datetime AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
               payment_method, payment_type, to_char({gross}, 'FM999999990.00'), to_char({fee}, 'FM999999990.00'),
               to_char({gross} - {fee}, 'FM999999990.00'), currency
        FROM payments_transaction WHERE id % 200000 <> 3 ORDER BY id"""  # noqa: S608 (constants of this script)
    lines = 0
    with path.open("wb") as out, connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, DELIMITER ';')") as copy:
            for chunk in copy:
                out.write(chunk)
                lines += bytes(chunk).count(b"\n")
        for n in range(10):
            out.write(
                f"2026-12-02;PAY-BENCH;s2unknown{n:05d};;500000;2026-12-01T10:00:00Z;CARD;PURS;9.99;0.19;9.80;EUR\n".encode()
            )
            lines += 1
    return lines


def baseline_parse(path: Path) -> float:
    from reconciliation.layouts import V1
    from reconciliation.parser import ParseReport, parse_lines

    report = ParseReport()
    started = time.perf_counter()
    with path.open("rb") as handle:
        for _ in parse_lines(iter(handle.readline, b""), V1, report):
            pass
    assert report.ok, report.errors[:3]
    return time.perf_counter() - started


def baseline_copy(path: Path) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE UNLOGGED TABLE bench_floor (d text, p text, t text, m text, term text, dt text, pm text, pt text, "
            "g numeric, f numeric, n numeric, c text)"
        )
        started = time.perf_counter()
        with (
            path.open("rb") as handle,
            cursor.cursor.copy("COPY bench_floor FROM STDIN WITH (FORMAT csv, DELIMITER ';')") as copy,
        ):
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_floor")
    return elapsed


def child_import(args) -> None:
    """Runs in its own process, so its peak memory is the import's alone."""
    setup_django(f"{args.pg}/{args.db}")
    import reconciliation.tasks  # noqa: F401 - loaded in any web or worker process already
    from backoffice.audit import SYSTEM
    from backoffice.models import Merchant
    from reconciliation.models import SettlementLine
    from reconciliation.services.importing import settlement_file_import

    merchant = Merchant.objects.get(slug="bench")
    before = SettlementLine.objects.count()
    started = time.perf_counter()
    with open(args.file, "rb") as handle:
        result = settlement_file_import(merchant=merchant, name=FILE_NAME, stream=handle, actor=SYSTEM)
    elapsed = time.perf_counter() - started
    after = SettlementLine.objects.count()
    print(
        json.dumps(
            {
                "outcome": result.outcome,
                "seconds": elapsed,
                "lines": result.file.line_count if result.file else 0,
                "exceptions": result.file.exception_count if result.file else 0,
                "added": after - before,
                "errors": [str(e) for e in result.errors[:3]],
            }
        )
    )


def run_child(args, path: Path) -> tuple[dict, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run(  # noqa: S603 (this script, its own arguments)
        [sys.executable, __file__, "--child", "import", "--file", str(path), "--pg", args.pg, "--db", args.db],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return json.loads(out.stdout.strip().splitlines()[-1]), max(peak_kb, before) / 1024


def main() -> None:
    args = parse_args()
    if args.child:
        child_import(args)
        return
    url = f"{args.pg}/{args.db}"
    create_database(args)
    try:
        migrate(url)
        setup_django(url)
        fill(args.rows)
        with tempfile.TemporaryDirectory(prefix="bench-recon-") as folder:
            path = Path(folder) / FILE_NAME
            started = time.perf_counter()
            lines = write_file(path)
            size_mb = path.stat().st_size / 1e6
            print(f"wrote {lines:,} lines ({size_mb:.0f} MB) in {time.perf_counter() - started:.1f} s")
            from django.db import connections

            parse_s = baseline_parse(path)
            copy_s = baseline_copy(path)
            connections.close_all()
            print("\nbaselines (same file, same run)")
            print(f"  parser alone (no database)     {parse_s:6.1f} s   {lines / parse_s:10,.0f} lines/s")
            print(f"  bare COPY into a plain table   {copy_s:6.1f} s   {lines / copy_s:10,.0f} lines/s")
            first, first_peak = run_child(args, path)
            assert first["outcome"] == "imported", first
            print("\nimport and match (settlement_file_import, own process)")
            rate = first["lines"] / first["seconds"]
            print(
                f"  {first['lines']:,} lines in {first['seconds']:.1f} s   {rate:,.0f} lines/s"
                f"   peak RSS {first_peak:.0f} MB   exceptions {first['exceptions']}"
            )
            again, _ = run_child(args, path)
            print(
                f"  the same file again: {again['outcome']} in {again['seconds'] * 1000:.0f} ms, "
                f"{again['added']} lines added"
            )
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(args)


if __name__ == "__main__":
    main()
