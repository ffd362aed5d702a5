#!/usr/bin/env bash
# The demo: SQLite, the ORM task broker, seeded demo organizations, web server and task worker, the
# sandbox's mail server (everybody's mailboxes) and the SMTP server that takes replies to invitations.
# Every setting comes from the environment (README, "Configuration reference").
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBUG="${DEBUG:-1}"
host="${HOST:-127.0.0.1}"
port="${PORT:-8000}"
export SITE_URL="${SITE_URL:-http://$host:$port}"
# Mail goes to the sandbox's mailboxes (/sandbox/mail/), replies come back to our receiver.
export SANDBOX_MAIL_PORT="${SANDBOX_MAIL_PORT:-1025}"
export INVITATIONS_SMTP_PORT="${INVITATIONS_SMTP_PORT:-2525}"
export EMAIL_HOST="${EMAIL_HOST:-127.0.0.1}"
export EMAIL_PORT="${EMAIL_PORT:-$SANDBOX_MAIL_PORT}"
python=".venv/bin/python"

$python manage.py migrate --noinput
$python manage.py schedules_sync
$python manage.py seed_demo

# Each long-running process gets its own session, so that Ctrl-C reaches it once, from us: django-q2's
# cluster can hang when a second stop signal arrives while it is already stopping.
setsid $python manage.py sandbox_mail &
mail=$!
setsid $python manage.py receive_replies &
replies=$!
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
trap 'stop "$web"; stop "$worker"; stop "$replies"; stop "$mail"' EXIT
trap 'exit 130' INT TERM
wait "$web"
