#!/usr/bin/env bash
# Web role: gunicorn serving backoffice.wsgi on 0.0.0.0:$PORT (8000). Run as many as you like.
#   WEB_WORKERS (2) processes x WEB_THREADS (4) threads each; WEB_TIMEOUT (30 s) per request.
#   FORWARDED_ALLOW_IPS (gunicorn's own variable) lists the proxies trusted for X-Forwarded-*.
set -euo pipefail
cd "$(dirname "$0")/.."

exec gunicorn backoffice.wsgi:application \
    --bind "0.0.0.0:${PORT:-8000}" \
    --workers "${WEB_WORKERS:-2}" \
    --threads "${WEB_THREADS:-4}" \
    --timeout "${WEB_TIMEOUT:-30}" \
    --graceful-timeout 25 \
    --access-logfile - \
    --error-logfile - \
    --no-control-socket
