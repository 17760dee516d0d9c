"""Benchmark of the inbound SIBS endpoint: encrypted notifications acknowledged and stored per second.

What it does, all on this machine and over loopback only:

1. creates a throw-away PostgreSQL database (dropped at the end) and migrates it;
2. creates a merchant with an inbound endpoint and a webhook secret;
3. encrypts ``--count`` distinct notifications the way SIBS does (AES-256-GCM, Base64);
4. starts one gunicorn web process against that database;
5. posts the notifications at it with ``wrk`` (if installed) or a Python load generator, closed
   loop, ``--connections`` at a time, for at most ``--duration`` seconds;
6. prints acknowledgements per second, rows stored per second (counted in the database), and
   p50/p99 acknowledgement latency;
7. measures, in the same run, the two limits beside it and the ratio to each: PostgreSQL's
   durable single-row INSERT rate (``pgbench``, the same number of connections, one INSERT per
   transaction, ``synchronous_commit`` as configured) and a bare WSGI answer (``bench/bare_wsgi.py``)
   served by the same web server configuration under the same load.

No worker runs: processing is not measured, only what SIBS waits for. The Celery broker is the
embedded SQLite one by default (each notification is one SQLite write, as in ``make run``);
``--broker redis`` uses Redis at 127.0.0.1:6379 (database 15) as production does.

    make bench-ingest          # Redis broker, then the embedded one
    .venv/bin/python bench/ingest.py --broker redis --workers 2

``BENCH_GUNICORN_CONFIG=/path/conf.py`` passes a gunicorn config file (e.g. profiling hooks).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent

WRK_SCRIPT = r"""
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  local me, count = tonumber(wrk.thread:get("id")), tonumber(args[2])
  reqs, idx, i = {}, 0, 0
  for line in io.lines(args[1]) do
    if i % count == me then
      local iv, tag, body = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)")
      reqs[#reqs + 1] = wrk.format("POST", nil, {
        ["Content-Type"] = "text/plain",
        ["X-Initialization-Vector"] = iv,
        ["X-Authentication-Tag"] = tag,
      }, body)
    end
    i = i + 1
  end
end
function request()
  idx = idx + 1
  -- past the end: wraps around (duplicates, acknowledged without a write); reported below
  return reqs[(idx - 1) % #reqs + 1]
end
function done(summary, latency, requests)
  io.write(string.format(
    '\nJSON {"requests": %d, "duration_us": %d, "non2xx": %d, "errors": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_admin(base_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{base_url}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def run(cmd: list[str], env: dict, **kwargs) -> None:
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, **kwargs)  # noqa: S603


def prepare(env: dict, count: int, warmup: int, path: Path) -> dict:
    """Merchant, endpoint and secret in the bench database; the encrypted notifications on disk."""
    code = f"""
import json, uuid
from backoffice.models import Merchant
from backoffice.audit import SYSTEM
from payments.sibs.envelope import encrypt, generate_secret
from webhooks.inbound import services
merchant = Merchant.objects.create(name="Bench", slug="bench", legal_name="Bench, Lda.", nif="501964843")
endpoint = services.endpoint_ensure(merchant)
secret = generate_secret()
services.secret_add(merchant=merchant, actor=SYSTEM, label="bench", canonical=secret, origin="generated")
with open({str(path)!r}, "w") as out:
    for n in range({count + warmup}):
        payload = {{
            "returnStatus": {{"statusMsg": "Success", "statusCode": "000"}},
            "paymentStatus": "Success", "paymentMethod": "MBWAY",
            "transactionID": f"s2bench{{n:013d}}",
            "transactionDateTime": "2026-03-12T10:48:44.123Z",
            "amount": {{"currency": "EUR", "value": "16.20"}},
            "merchant": {{"transactionId": f"order-{{n}}", "terminalId": "99978", "merchantName": "Bench"}},
            "paymentType": "PURS",
            "token": {{"tokenType": "MobilePhone", "value": "351#912345678"}},
            "internalTransactionId": "S14073500001359S",
            "notificationID": str(uuid.uuid4()),
        }}
        e = encrypt(json.dumps(payload), secret=secret)
        out.write(f"{{e.iv}}\\t{{e.tag}}\\t{{e.body}}\\n")
print(json.dumps({{"path": f"/hooks/sibs/{{endpoint.token}}/"}}))
"""
    out = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def stored_rows(env: dict) -> int:
    code = "from webhooks.models import InboundNotification; print(InboundNotification.objects.count())"
    out = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return int(out.stdout.strip().splitlines()[-1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children so far (Linux)."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids += [int(p) for p in (task / "children").read_text().split()]
    for each in pids:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def postgres_cpu_seconds() -> float:
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() != "postgres":
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def wait_until_up(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not come up")


def lines(path: Path) -> list[tuple[str, str, str]]:
    return [tuple(line.rstrip("\n").split("\t")) for line in path.open()]


def python_load(port: int, url: str, items: list, connections: int, duration: float) -> dict:
    """Closed-loop load from threads with keep-alive connections (used when wrk is absent)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + duration
    shares = [items[i::connections] for i in range(connections)]

    def worker(share):
        conn = HTTPConnection("127.0.0.1", port, timeout=10)
        mine, codes = [], {}
        for iv, tag, body in share:
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            conn.request(
                "POST",
                url,
                body=body,
                headers={"Content-Type": "text/plain", "X-Initialization-Vector": iv, "X-Authentication-Tag": tag},
            )
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            codes[response.status] = codes.get(response.status, 0) + 1
        with lock:
            latencies.extend(mine)
            for code, n in codes.items():
                statuses[code] = statuses.get(code, 0) + n

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    return {
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        "non2xx": sum(n for code, n in statuses.items() if not 200 <= code < 300),
        "errors": 0,
        "p50_us": int(q[49] * 1e6),
        "p90_us": int(q[89] * 1e6),
        "p99_us": int(q[98] * 1e6),
        "max_us": int(latencies[-1] * 1e6) if latencies else 0,
    }


def wrk_load(port: int, url: str, data: Path, connections: int, duration: float, workdir: Path) -> dict:
    script = workdir / "ingest.lua"
    script.write_text(WRK_SCRIPT)
    threads = min(2, connections)
    out = subprocess.run(  # noqa: S603
        [
            shutil.which("wrk"),
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{int(duration)}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{url}",
            "--",
            str(data),
            str(threads),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    marker = [line for line in out.stdout.splitlines() if line.startswith("JSON ")]
    if not marker:
        raise SystemExit(out.stdout + out.stderr)
    return json.loads(marker[-1][5:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=60_000, help="distinct notifications prepared (default 60000)")
    parser.add_argument("--duration", type=float, default=20, help="seconds of load, at most (default 20)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (default 8)")
    parser.add_argument(
        "--server",
        choices=["granian", "gunicorn"],
        default="granian",
        help="WSGI server (default granian, as shipped; gunicorn must be installed separately to compare)",
    )
    parser.add_argument("--worker-class", choices=["gthread", "sync"], default="gthread")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads for gthread (default 4)")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn web processes (default 1)")
    parser.add_argument("--broker", choices=["sqlite", "redis"], default="sqlite")
    parser.add_argument("--loader", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--app",
        default="backoffice.wsgi:application",
        help="WSGI application (backoffice.wsgi:django_application: without the inbound fast path)",
    )
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432"))
    args = parser.parse_args()
    loader = args.loader
    if loader == "auto":
        loader = "wrk" if shutil.which("wrk") else "python"

    dbname = f"bench_ingest_{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    from cryptography.fernet import Fernet

    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "CELERY_TASK_ALWAYS_EAGER")},
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
        "DATABASE_URL": f"{args.pg}/{dbname}",
        "VAR_DIR": str(workdir),
        "SECRET_KEY": secrets.token_urlsafe(64),
        "SECRETS_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "LOG_LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    redis_url = "redis://127.0.0.1:6379/15"
    if args.broker == "redis":
        env["REDIS_URL"] = redis_url
    warmup = 500
    server = None
    pg_admin(args.pg, f'CREATE DATABASE "{dbname}"')
    try:
        print(f"database {dbname}: migrating…", flush=True)
        run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], env)
        data = workdir / "notifications.tsv"
        print(f"encrypting {args.count + warmup} notifications…", flush=True)
        url = prepare(env, args.count, warmup, data)["path"]
        items = lines(data)
        warm, load = items[:warmup], items[warmup:]
        (workdir / "load.tsv").write_text("".join("\t".join(item) + "\n" for item in load))

        port = free_port()
        command = [
            str(BIN / "gunicorn"),
            args.app,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            args.worker_class,
            "--log-level",
            "warning",
        ]
        if args.worker_class == "gthread":
            command += ["--threads", str(args.threads)]
        if os.environ.get("BENCH_GUNICORN_CONFIG"):  # e.g. a profiling hook
            command += ["--config", os.environ["BENCH_GUNICORN_CONFIG"]]
        if args.server == "granian":
            command = [
                str(BIN / "granian"),
                "--interface",
                "wsgi",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--blocking-threads",
                str(args.threads),
                "--log-level",
                "warning",
                "--no-ws",
                args.app,
            ]
        server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603
        bare_command = [args.app if part == args.app else part for part in command]
        bare_command[bare_command.index(args.app)] = "bench.bare_wsgi:app"
        wait_until_up(port)
        python_load(port, url, warm, min(args.connections, 4), 30)  # warm caches and connections
        before = stored_rows(env)
        cpu_web, cpu_pg = cpu_seconds(server.pid), postgres_cpu_seconds()

        print(
            f"load: {loader}, {args.connections} connections, at most {args.duration:g} s, "
            + (
                f"granian {args.workers} x wsgi ({args.threads} blocking threads)"
                if args.server == "granian"
                else f"gunicorn {args.workers} x {args.worker_class}"
                + (f" ({args.threads} threads)" if args.worker_class == "gthread" else "")
            )
            + f", {args.app}, broker {args.broker}, PostgreSQL",
            flush=True,
        )
        if loader == "wrk":
            result = wrk_load(port, url, workdir / "load.tsv", args.connections, args.duration, workdir)
        else:
            result = python_load(port, url, load, args.connections, args.duration)
        cpu_web, cpu_pg = cpu_seconds(server.pid) - cpu_web, postgres_cpu_seconds() - cpu_pg
        stored = stored_rows(env) - before
        stop(server)
        server = None
        limit_seconds = min(args.duration, 10)
        print(f"limit 1: pgbench single-row INSERT, {args.connections} connections, {limit_seconds:g} s…", flush=True)
        insert_rate = pgbench_insert_rate(args.pg, dbname, args.connections, limit_seconds, workdir)
        print(f"limit 2: bare WSGI answer on the same server configuration, {limit_seconds:g} s…", flush=True)
        server = subprocess.Popen(  # noqa: S603
            bare_command, cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, start_new_session=True
        )
        wait_until_up(port)
        python_load(port, url, warm, min(args.connections, 4), 3)
        if loader == "wrk":
            bare = wrk_load(port, url, workdir / "load.tsv", args.connections, limit_seconds, workdir)
        else:
            bare = python_load(port, url, load, args.connections, limit_seconds)
    finally:
        if server is not None:
            stop(server)
        pg_admin(args.pg, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        if args.broker == "redis":
            import redis

            redis.Redis.from_url(redis_url).delete("celery")  # the tasks no worker consumed
        shutil.rmtree(workdir, ignore_errors=True)

    seconds = result["duration_us"] / 1e6
    acks = result["requests"] - result["non2xx"]
    print()
    print(
        f"requests            {result['requests']} in {seconds:.1f} s "
        f"({result['non2xx']} not 2xx, {result['errors']} socket errors)"
    )
    print(f"acknowledged        {acks / seconds:,.0f} /s")
    print(f"stored (database)   {stored / seconds:,.0f} /s  ({stored} rows)")
    if acks > stored + args.connections:
        print(f"                    ({acks - stored} acknowledgements were duplicates: raise --count)")
    print(f"latency p50         {result['p50_us'] / 1000:.2f} ms")
    print(f"latency p90         {result['p90_us'] / 1000:.2f} ms")
    print(f"latency p99         {result['p99_us'] / 1000:.2f} ms")
    print(f"latency max         {result['max_us'] / 1000:.2f} ms")
    if acks:
        print(f"CPU per notification  web {cpu_web / acks * 1000:.2f} ms, PostgreSQL {cpu_pg / acks * 1000:.2f} ms")
    bare_rate = (bare["requests"] - bare["non2xx"]) / (bare["duration_us"] / 1e6)
    print(
        f"limit: PostgreSQL durable single-row INSERT  {insert_rate:,.0f} /s  "
        f"(stored / limit {stored / seconds / insert_rate:.2f})"
    )
    print(
        f"limit: bare WSGI answer, same server         {bare_rate:,.0f} /s  "
        f"(acknowledged / limit {acks / seconds / bare_rate:.2f})"
    )
    return 0


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def pgbench_insert_rate(pg: str, dbname: str, connections: int, seconds: float, workdir: Path) -> float:
    """Committed single-row INSERTs per second into a table shaped like a stored notification."""
    import psycopg

    with psycopg.connect(f"{pg}/{dbname}", autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bench_insert "
            "(id bigserial PRIMARY KEY, notification_id text, body text, received_at timestamptz)"
        )
    script = workdir / "insert.sql"
    script.write_text(
        "INSERT INTO bench_insert (notification_id, body, received_at) "
        "VALUES (md5(random()::text), repeat('x', 1100), now());\n"
    )
    out = subprocess.run(  # noqa: S603
        [
            shutil.which("pgbench") or "pgbench",
            "-n",
            "-c",
            str(connections),
            "-j",
            str(min(connections, 2)),
            "-T",
            str(int(seconds)),
            "-f",
            str(script),
            f"{pg}/{dbname}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("tps = "):
            return float(line.split()[2])
    raise SystemExit(f"pgbench gave no rate:\n{out}")


if __name__ == "__main__":
    sys.exit(main())
