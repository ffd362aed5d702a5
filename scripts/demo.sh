#!/usr/bin/env bash
# The demo: SQLite, the ORM task broker, seeded demo organizations, web server and task worker.
# Every setting comes from the environment (README, "Configuration reference").
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBUG="${DEBUG:-1}"
host="${HOST:-127.0.0.1}"
port="${PORT:-8000}"
export SITE_URL="${SITE_URL:-http://$host:$port}"
python=".venv/bin/python"

$python manage.py migrate --noinput
$python manage.py seed_demo

$python manage.py qcluster &
worker=$!
trap 'kill "$worker" 2>/dev/null || true; wait "$worker" 2>/dev/null || true' EXIT INT TERM
$python manage.py runserver "$host:$port"
