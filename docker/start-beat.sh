#!/usr/bin/env bash
# Beat role: the Celery scheduler. Exactly ONE per deployment: two beats send every periodic
# task twice. Its schedule file lives under VAR_DIR, the one directory the app may write to.
set -euo pipefail
cd "$(dirname "$0")/.."

var_dir="${VAR_DIR:-$PWD/var}"
mkdir -p "$var_dir"

exec celery -A backoffice beat \
    --loglevel "${LOG_LEVEL:-INFO}" \
    --schedule "$var_dir/celerybeat-schedule"
