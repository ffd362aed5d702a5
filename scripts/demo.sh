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

# The worker runs in its own session so that Ctrl-C reaches it once, from us: django-q2's cluster can
# hang when a second stop signal arrives while it is already stopping.
setsid $python manage.py qcluster &
worker=$!
$python manage.py runserver --noreload "$host:$port" &
web=$!

stop() {
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 1 40); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.25
  done
  kill -KILL "$1" 2>/dev/null || true
}
trap 'stop "$web"; stop "$worker"' EXIT
trap 'exit 130' INT TERM
wait "$web"
