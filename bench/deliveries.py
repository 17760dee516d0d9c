"""Benchmark of the outbound relay: webhook deliveries acknowledged per second by one worker process.

What it does, all on this machine and over loopback only:

1. creates a throw-away PostgreSQL database (dropped at the end) and migrates it;
2. starts a merchant endpoint in its own process (``tests/webhooks/endpoint.py``: threaded
   HTTP/1.1 keep-alive server that decrypts every notification with the webhook key and answers
   the SIBS acknowledgement);
3. in one process (the "worker"), creates a merchant, a URL webhook pointing at that endpoint,
   and ``--count`` stored inbound notifications each with its pending delivery, exactly as
   processing would leave them;
4. runs the engine's pump (claim with ``FOR UPDATE SKIP LOCKED``, encrypt, POST on reused
   connections from ``WEBHOOK_SEND_THREADS`` threads, check the acknowledgement, record the
   attempt) until every delivery is delivered; a warm-up batch goes first;
5. prints deliveries per second, the attempts recorded per second, the worker's CPU per
   delivery, and p50/p99 of the attempt durations as recorded in the database;
6. measures, in the same run, the limit: a bare urllib3 keep-alive client (one process, the same
   number of threads) posting bodies of the same size to a bare loopback HTTP/1.1 server (its own
   process) that answers a fixed 200, and prints the ratio of the worker's rate to it.

    make bench-deliveries
    .venv/bin/python bench/deliveries.py --count 5000 --threads 8

``BENCH_PROFILE=1`` prints a cProfile of the worker's pump (main thread).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def pg_admin(base: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def worker(count: int, warmup: int, url: str, key: str) -> None:
    """Runs inside the prepared environment: create the outbox rows, pump, report."""
    import django

    django.setup()
    from django.conf import settings
    from django.utils import timezone

    from backoffice.models import Merchant
    from webhooks.models import DeliveryAttempt, DeliveryState, InboundNotification, OutboundWebhook, WebhookDelivery
    from webhooks.outbound import engine, key_hint

    merchant = Merchant.objects.create(name="Bench", slug="bench", legal_name="Bench, Lda", nif="501964843")
    webhook = OutboundWebhook.objects.create(
        merchant=merchant,
        name="bench endpoint",
        url=url,
        encryption_key=key,
        key_hint=key_hint(key),
        failure_email="ops@bench.example",
        notification_types=["mbway"],
    )

    def create(n: int, offset: int) -> None:
        now = timezone.now()
        inbounds = []
        for i in range(offset, offset + n):
            nid = f"00000000-0000-4000-8000-{i:012d}"
            plaintext = (
                '{"returnStatus":{"statusMsg":"Success","statusCode":"000"},"paymentStatus":"Success",'
                f'"paymentMethod":"MBWAY","transactionID":"s2bench{i:013d}",'
                '"transactionDateTime":"2026-03-12T10:48:44.123Z","amount":{"currency":"EUR","value":"16.20"},'
                f'"merchant":{{"transactionId":"order-{i}","terminalId":11111,"merchantName":"Bench"}},'
                f'"paymentType":"PURS","token":{{"tokenType":"MobilePhone","value":"351#912345678"}},"notificationID":"{nid}"}}'
            )
            inbounds.append(
                InboundNotification(
                    merchant=merchant,
                    notification_id=nid,
                    transaction_ref=f"s2bench{i:013d}",
                    body="",
                    plaintext=plaintext,
                    state="processed",
                )
            )
        InboundNotification.objects.bulk_create(inbounds, batch_size=1000)
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    webhook=webhook,
                    merchant=merchant,
                    inbound=inbound,
                    notification_id=inbound.notification_id,
                    notification_type="mbway",
                    next_attempt_at=now,
                    cycle_started_at=now,
                )
                for inbound in inbounds
            ],
            batch_size=1000,
        )

    create(warmup, 0)
    warm = engine.pump(time_budget=120)
    create(count, warmup)
    started_attempts = DeliveryAttempt.objects.count()

    started = time.perf_counter()
    cpu_started = time.process_time()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        result = profile.runcall(engine.pump, time_budget=600)
        pstats.Stats(profile).sort_stats("tottime").print_stats(30)
    else:
        result = engine.pump(time_budget=600)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started

    delivered = WebhookDelivery.objects.filter(state=DeliveryState.DELIVERED).count() - warm.delivered
    attempts = DeliveryAttempt.objects.count() - started_attempts
    durations = sorted(
        DeliveryAttempt.objects.order_by("-pk").values_list("duration_ms", flat=True)[: max(attempts, 1)]
    )
    print(f"threads per worker process: {settings.WEBHOOK_SEND_THREADS}")
    print(f"per-endpoint cap: {settings.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT} claimed at a time")
    print(f"warm-up: {warm.delivered} delivered")
    print(f"deliveries: {count} pending -> {delivered} delivered, {result.failed_attempts} failed attempts")
    print(f"elapsed: {elapsed:.2f} s wall, {cpu:.2f} s CPU in the worker process")
    print(f"deliveries/s per worker process: {delivered / elapsed:.0f}")
    print(f"attempts recorded/s: {attempts / elapsed:.0f}")
    if durations:
        p99 = durations[min(len(durations) - 1, int(len(durations) * 0.99))]
        print(f"attempt duration: p50 {statistics.median(durations):.0f} ms, p99 {p99} ms")
    print(f"worker CPU per delivery: {cpu / max(delivered, 1) * 1000:.2f} ms")
    print(f"RESULT deliveries_per_s={delivered / elapsed:.1f}")
    if delivered != count:
        raise SystemExit(f"only {delivered} of {count} delivered")


BARE_BODY_BYTES = 1100  # about the size of an encrypted notification body


def bare_server() -> None:
    """A bare HTTP/1.1 keep-alive server answering a fixed 200: the other end of the limit."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    answer = b'{"statusCode":"200","statusMsg":"Success"}'

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"http://127.0.0.1:{server.server_address[1]}/hook", flush=True)
    server.serve_forever()


def bare_client(url: str, count: int, threads: int) -> None:
    """The limit: a bare urllib3 keep-alive pool posting from ``threads`` threads, one process."""
    from concurrent.futures import ThreadPoolExecutor

    import urllib3

    http = urllib3.PoolManager(maxsize=threads * 2, retries=False)
    body = b"x" * BARE_BODY_BYTES
    headers = {"Content-Type": "text/plain", "X-Initialization-Vector": "a" * 16, "X-Authentication-Tag": "b" * 24}

    def one(_):
        response = http.request("POST", url, body=body, headers=headers)
        return response.status

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(min(count, 300))))  # warm-up: connections open
        started, cpu_started = time.perf_counter(), time.process_time()
        statuses = list(pool.map(one, range(count)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    assert statuses.count(200) == count
    print(
        f"bare urllib3 client, {threads} threads, bare server: {count / elapsed:.0f} POST/s, "
        f"{cpu / count * 1000:.2f} ms CPU each"
    )
    print(f"RESULT bare_per_s={count / elapsed:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--threads", type=int, default=None, help="WEBHOOK_SEND_THREADS (default: the setting's)")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--child", nargs=2, metavar=("URL", "KEY"), help=argparse.SUPPRESS)
    parser.add_argument("--bare-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bare-client", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        worker(args.count, args.warmup, *args.child)
        return
    if args.bare_server:
        bare_server()
        return
    if args.bare_client:
        bare_client(args.bare_client, args.count, args.threads or 8)
        return

    from cryptography.fernet import Fernet

    dbname = f"bench_deliveries_{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="bench-deliveries-"))
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "CELERY_TASK_ALWAYS_EAGER")},
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
        "DATABASE_URL": f"{args.pg}/{dbname}",
        "VAR_DIR": str(workdir),
        "SECRET_KEY": secrets.token_urlsafe(64),
        "SECRETS_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "LOG_LEVEL": "WARNING",
        "WEBHOOK_ALLOW_PRIVATE_URLS": "1",
        "WEBHOOK_ALLOW_HTTP": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": str(ROOT),
    }
    if args.threads:
        env["WEBHOOK_SEND_THREADS"] = str(args.threads)
    key = subprocess.run(  # noqa: S603
        [PYTHON, "-c", "from payments.sibs.envelope import generate_secret; print(generate_secret())"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    pg_admin(args.pg, f'CREATE DATABASE "{dbname}"')
    endpoint = None
    try:
        print(f"database {dbname}: migrating…", flush=True)
        subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)  # noqa: S603
        endpoint = subprocess.Popen(  # noqa: S603
            [PYTHON, "-m", "tests.webhooks.endpoint", "--key", key],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        url = endpoint.stdout.readline().strip()
        print(f"endpoint {url} (own process); {args.count} deliveries…", flush=True)
        run = subprocess.run(  # noqa: S603
            [PYTHON, __file__, "--count", str(args.count), "--warmup", str(args.warmup), "--child", url, key],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        print(run.stdout, end="", flush=True)
        bare = subprocess.Popen(  # noqa: S603
            [PYTHON, __file__, "--bare-server"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        try:
            bare_url = bare.stdout.readline().strip()
            threads = args.threads or int(
                subprocess.run(  # noqa: S603
                    [
                        PYTHON,
                        "-c",
                        "import django; django.setup(); from django.conf import settings; "
                        "print(settings.WEBHOOK_SEND_THREADS)",
                    ],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.strip()
            )
            limit = subprocess.run(  # noqa: S603
                [PYTHON, __file__, "--count", str(args.count), "--threads", str(threads), "--bare-client", bare_url],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            print(limit.stdout, end="", flush=True)
        finally:
            bare.terminate()
            bare.wait(10)
        figures = {}
        for line in (run.stdout + limit.stdout).splitlines():
            if line.startswith("RESULT "):
                key_, _, value = line[7:].partition("=")
                figures[key_] = float(value)
        ratio = figures["deliveries_per_s"] / figures["bare_per_s"]
        print(f"ratio to the bare urllib3 client: {ratio:.2f} (goal: at least 0.60)")
    finally:
        if endpoint is not None:
            endpoint.terminate()
            endpoint.wait(10)
        pg_admin(args.pg, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


if __name__ == "__main__":
    main()
