#!/usr/bin/env bash
# Worker role: a Celery worker. Run as many as you like; each gets its own node name
# (worker@<hostname>). WORKER_CONCURRENCY (2) child processes per worker.
set -euo pipefail
cd "$(dirname "$0")/.."

exec celery -A backoffice worker \
    --loglevel "${LOG_LEVEL:-INFO}" \
    --concurrency "${WORKER_CONCURRENCY:-2}" \
    --hostname "worker@%h"
