#!/usr/bin/env bash
# Web role: Granian serving backoffice.wsgi on 0.0.0.0:$PORT (8000). Run as many as you like.
#   WEB_WORKERS (2) processes x WEB_THREADS (4) threads each. TLS ends at the proxy in front,
#   which must set X-Forwarded-Proto (and X-Forwarded-For, with TRUSTED_PROXY_COUNT=1).
set -euo pipefail
cd "$(dirname "$0")/.."

exec granian --interface wsgi \
    --host 0.0.0.0 \
    --port "${PORT:-8000}" \
    --workers "${WEB_WORKERS:-2}" \
    --blocking-threads "${WEB_THREADS:-4}" \
    --respawn-failed-workers \
    --no-ws \
    --access-log \
    backoffice.wsgi:application
