"""Property-based testing of the API against its own OpenAPI schema (schemathesis), on a live server.

``make fuzz-api`` creates a throw-away PostgreSQL database, fills it with two merchants (every role,
a few stores, terminals and transactions, an Owner API key each), starts one web process (Granian
serving ``backoffice.wsgi``, as shipped) and runs ``st run --checks all`` over every operation of
``/api/v1/schema/``, once with each merchant's key. Every answer must be one the schema documents
(status, headers, body), no answer may be a 5xx, invalid input must be refused and valid input
accepted. Exits non-zero on any failure.

    .venv/bin/python tools/api_fuzz.py --max-examples 100       # the make target's default
    .venv/bin/python tools/api_fuzz.py --max-examples 10 --keep # quick, keep the database
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database(url: str, *, drop_only: bool = False) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def seed() -> None:
    """Inside the configured environment: two merchants, their people, transactions and keys."""
    import django

    django.setup()
    from backoffice import services
    from backoffice.access import Access
    from backoffice.audit import Actor
    from backoffice.roles import Role
    from tests.conftest import World
    from tests.payments.test_listing import make_txn

    world = World()
    for minutes, fields in enumerate(
        [{}, {"payment_method": "CARD", "payment_type": "AUTH", "state": "authorised"}, {"state": "pending"}]
    ):
        make_txn(world, minutes_ago=minutes, **fields)
    make_txn(world, terminal=world.t_outra, merchant=world.outra)
    keys = []
    for membership, user in ((world.m_alice, world.alice), (world.m_mallory, world.mallory)):
        _key, plaintext = services.api_key_create(
            access=Access.for_membership(membership), actor=Actor(user=user), name="fuzz", role=Role.OWNER
        )
        keys.append(plaintext)
    print(json.dumps(keys))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/backoffice_fuzz")
    parser.add_argument("--max-examples", type=int, default=100, help="examples per operation and phase")
    parser.add_argument("--workers", type=int, default=1, help="more than 1 trips a CPython 3.11 ast race")
    parser.add_argument("--seed", type=int, default=20261208, help="random seed (reproducible runs)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--paths",
        default=r"^/api/v1/(me|stores|transactions|operations)",
        help="operations to test (regular expression on the path); '.' for all",
    )
    parser.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_only:
        seed()
        return 0

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    var = tempfile.mkdtemp(prefix="backoffice-fuzz-")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "BACKOFFICE_ENV", "DJANGO_SETTINGS_MODULE", "PYTEST_ADDOPTS")
    }
    env.update(
        DATABASE_URL=args.database_url,
        VAR_DIR=var,
        SITE_URL=url,
        API_DOCS_PUBLIC="1",
        DJANGO_SETTINGS_MODULE="backoffice.settings",
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="WARNING",
    )
    _database(args.database_url)
    server = None
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        seeded = subprocess.run(
            [sys.executable, __file__, "--seed-only"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        )
        keys = json.loads(seeded.stdout.strip().splitlines()[-1])
        server = subprocess.Popen(
            [
                *(str(BIN / "granian"), "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port)),
                *("--workers", "1", "--blocking-threads", "4", "--log-level", "warning", "backoffice.wsgi:application"),
            ],
            cwd=ROOT,
            env=env,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=2)  # noqa: S310 - our own local server
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    print("the server did not start", file=sys.stderr)
                    return 2
                time.sleep(0.3)
        failed = 0
        for name, key in zip(("merchant A (Loja)", "merchant B (Outra)"), keys, strict=True):
            print(f"\n== schemathesis, {name}'s Owner key, {args.max_examples} examples per operation ==", flush=True)
            command = [
                str(BIN / "st"),
                "run",
                f"{url}/api/v1/schema/",
                "--url",
                url,
                "--checks",
                "all",
                "--max-examples",
                str(args.max_examples),
                "--workers",
                str(args.workers),
                "--seed",
                str(args.seed),
                "--header",
                f"Authorization: Bearer {key}",
                "--no-color",
                *("--include-path-regex", args.paths),
            ]
            failed += subprocess.run(command, cwd=ROOT, env=env, check=False).returncode != 0
        print("\nschemathesis: " + ("no failure" if not failed else f"{failed} run(s) with failures"))
        return 1 if failed else 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        if not args.keep:
            _database(args.database_url, drop_only=True)


if __name__ == "__main__":
    sys.exit(main())
