"""Container health check of the web role: GET /healthz on the local web server.

/healthz runs ``SELECT 1`` on the database, so "healthy" means the web process is serving and
can reach PostgreSQL. The request carries a Host header taken from ALLOWED_HOSTS (Django
answers 400 to any other host) and X-Forwarded-Proto: https, as the TLS proxy would send it.
Standard library only: the runtime image has no curl.
"""

from __future__ import annotations

import http.client
import os
import sys


def _host() -> str:
    for host in os.environ.get("ALLOWED_HOSTS", "").split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def main() -> int:
    conn = http.client.HTTPConnection("127.0.0.1", int(os.environ.get("PORT", "8000")), timeout=4)
    try:
        conn.request("GET", "/healthz", headers={"Host": _host(), "X-Forwarded-Proto": "https"})
        response = conn.getresponse()
        body = response.read(200)
    except OSError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    if response.status != 200:
        print(f"unhealthy: HTTP {response.status} {body!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
