#!/usr/bin/env bash
# Release step: bring the database schema up to date, then exit. Run it once per release,
# before web, worker and beat start on the new code (compose does this with the `release`
# service). Migrations are idempotent: running it again on an up-to-date database is a no-op.
set -euo pipefail
cd "$(dirname "$0")/.."

exec python manage.py migrate --noinput
