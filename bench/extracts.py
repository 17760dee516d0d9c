"""Benchmark of extracts on 1,000,000 transactions in PostgreSQL.

What it does, on this machine only:

1. creates a throw-away PostgreSQL database (``bench_extracts``; dropped at the end unless
   ``--keep``), migrates it and fills ``--rows`` transactions exactly as ``bench/transactions.py``
   does (two merchants, 80 % / 20 % of the rows, spread over 90 days);
2. times the web side of a request for all of merchant A's rows (validate, estimate the row
   count, record, audit: what ``POST /api/v1/extracts`` does before answering 202);
3. times the baseline: ``COPY (SELECT …) TO STDOUT (FORMAT csv)`` of the very query and
   columns the extract reads (same filters, order and ``--preset``), read to the end by psycopg;
4. runs each format through the real task (``extracts.services.extract_run``: claim, stream,
   write, store, mark done) in a fresh worker process, and prints rows/s and that process's
   peak RSS (``ru_maxrss``, Django and the libraries included). XLSX is run with both engines:
   XlsxWriter (constant memory) and openpyxl (write-only).

    make bench-extracts
    .venv/bin/python bench/extracts.py --rows 100000 --keep
"""

from __future__ import annotations

import argparse
import importlib.util
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

DB_NAME = "bench_extracts"
# (format, XLSX engine, COPY path): the CSV formats through COPY (the default), plain CSV once
# more through the Python path, XLSX with each engine.
RUNS = [
    ("csv", None, True),
    ("csv_pt", None, True),
    ("csv", None, False),
    ("xlsx", "xlsxwriter", False),
    ("xlsx", "openpyxl", False),
]


def _fill_module():
    spec = importlib.util.spec_from_file_location("bench_transactions", ROOT / "bench" / "transactions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--db", default=DB_NAME)
    parser.add_argument("--keep", action="store_true", help="keep the database (and reuse it if filled)")
    parser.add_argument("--preset", default="finance", help="operations, finance or everything")
    parser.add_argument("--only", default="", help="comma-separated: csv,csv_pt,csv-python,xlsx,openpyxl")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="", help=argparse.SUPPRESS)
    parser.add_argument("--python-path", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def setup_django(url: str, files: str) -> None:
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "backoffice.settings",
            "EXTRACTS_STORAGE_LOCATION": files,
            "EMAIL_URL": "locmem://",
        }
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def child(args) -> None:
    """One extract through the real task, in its own process: elapsed time and peak RSS."""
    from django.utils import timezone

    from extracts import services

    started = time.perf_counter()
    extract = services.extract_run(args.child, xlsx_engine=args.engine or None, use_copy=not args.python_path)
    elapsed = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert extract is not None and extract.state == "done", (extract and extract.error) or "not claimed"
    print(
        json.dumps(
            {"rows": extract.rows_written, "seconds": elapsed, "peak_mb": peak_kb / 1024, "bytes": extract.file_size}
        )
    )
    services.storage().delete(extract.file_name)
    del timezone


def main() -> None:
    args = parse_args()
    url = f"{args.pg}/{args.db}"
    files = os.environ.get("BENCH_EXTRACT_FILES") or tempfile.mkdtemp(prefix="bench-extracts-")
    if args.child:
        setup_django(url, files)
        return child(args)
    fill = _fill_module()
    env = {**os.environ, "DATABASE_URL": url, "BACKOFFICE_ENV": "development"}
    env.pop("REDIS_URL", None)
    must_fill = fill.create_database(argparse.Namespace(pg=args.pg, db=args.db, keep=args.keep))
    if must_fill:
        fill.migrate(env)
    setup_django(url, files)
    from django.db import connection
    from django.http import QueryDict

    from backoffice.access import Access
    from backoffice.audit import Actor
    from backoffice.models import Membership, User
    from backoffice.roles import Role
    from extracts import engine, services
    from payments.models import Transaction

    merchants = fill.make_world()
    if must_fill:
        fill.fill(args.rows, merchants)
    a = merchants[0]
    user, _ = User.objects.get_or_create(email="bench@extracts.example", defaults={"full_name": "Bench"})
    membership, _ = Membership.objects.get_or_create(user=user, merchant=a, defaults={"role": Role.FINANCE})
    access = Access.for_membership(membership)
    total = Transaction.objects.count()
    print(f"{total:,} transactions; merchant {a.slug}: {Transaction.objects.filter(merchant=a).count():,}")
    print(f"columns: preset {args.preset!r}")

    services._enqueue = lambda pk: None  # the bench runs each task itself, in its own process
    wanted = {w for w in args.only.split(",") if w}

    def request(fmt: str):
        params = QueryDict(mutable=True)
        params.update({"format": fmt, "preset": args.preset})
        started = time.perf_counter()
        extract = services.extract_request(access=access, actor=Actor(user=user), params=params)
        return extract, time.perf_counter() - started

    # The web side: what happens before a 202.
    extract, seconds = request("csv")
    print(
        f"\nrequest (validate, estimate, record, audit): {seconds * 1000:.0f} ms; "
        f"estimate {extract.rows_estimated:,} rows ({'exact' if extract.estimate_exact else 'planner'})"
    )

    # The baseline: COPY of the same query and columns.
    prepared = services.prepare(access=access, params=services._stored_params(extract), now=extract.created_at)
    job = engine.Job(
        prepared.dataset,
        access,
        prepared.filters,
        extract.period_start,
        extract.period_end,
        prepared.columns,
        prepared.zone,
    )
    fields, _cells = engine.row_cells(job)
    qs = job.queryset()
    annotations = {k: v for c in job.columns for k, v in c.annotations.items()}
    if annotations:
        qs = qs.annotate(**annotations)
    sql, params = qs.values_list(*fields).query.sql_with_params()
    raw = connection.connection
    started = time.perf_counter()
    copied = 0
    with raw.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
        for block in copy:
            copied += bytes(block).count(b"\n")
    copy_seconds = time.perf_counter() - started
    copy_rate = copied / copy_seconds
    print(f"COPY baseline: {copied:,} rows in {copy_seconds:.2f} s = {copy_rate:,.0f} rows/s")
    Transaction.objects.none()

    print(f"\n{'format':<22}{'rows':>10}{'seconds':>10}{'rows/s':>12}{'x COPY':>8}{'peak RSS':>11}{'file':>10}")
    for fmt, xlsx_engine, use_copy in RUNS:
        label = f"xlsx ({xlsx_engine})" if xlsx_engine else f"{fmt} ({'COPY' if use_copy else 'Python'})"
        key = xlsx_engine if xlsx_engine == "openpyxl" else fmt if use_copy or xlsx_engine else f"{fmt}-python"
        if wanted and key not in wanted:
            continue
        extract, _seconds = request(fmt)
        out = subprocess.run(  # noqa: S603 (this script, this interpreter)
            [
                sys.executable,
                __file__,
                "--child",
                str(extract.pk),
                "--engine",
                xlsx_engine or "",
                *([] if use_copy else ["--python-path"]),
                "--db",
                args.db,
                "--pg",
                args.pg,
            ],
            env={**env, "BENCH_EXTRACT_FILES": files},
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            print(f"{label:<22} failed: {out.stderr.strip()[-500:]}")
            continue
        result = json.loads(out.stdout.strip().splitlines()[-1])
        rate = result["rows"] / result["seconds"]
        print(
            f"{label:<22}{result['rows']:>10,}{result['seconds']:>10.2f}{rate:>12,.0f}{rate / copy_rate:>8.2f}"
            f"{result['peak_mb']:>8.0f} MB{result['bytes'] / 1e6:>7.0f} MB"
        )
    if not args.keep:
        fill.drop_database(argparse.Namespace(pg=args.pg, db=args.db))


if __name__ == "__main__":
    main()
