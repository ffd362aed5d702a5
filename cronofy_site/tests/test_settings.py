"""Settings come from the environment; production refuses to start half-configured."""

import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from bookings.dkim_signing import generate_private_key

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "-production-like-secret-key-with-enough-entropy-0123456789",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "scheduling.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "INVITATIONS_FROM_EMAIL": "invitations@scheduling.example.com",
    "INVITATIONS_REPLY_DOMAIN": "invites.scheduling.example.com",
    "INVITATIONS_DKIM_PRIVATE_KEY": generate_private_key(),
}


def run_django(code: str, env: dict[str, str], settings: str = "cronofy_site.settings") -> subprocess.CompletedProcess:
    clean_env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DEBUG",
            "SECRET_KEY",
            "FIELD_ENCRYPTION_KEYS",
            "DATABASE_URL",
            "REDIS_URL",
            "ALLOWED_HOSTS",
            "SECURE_SSL_REDIRECT",
            "SESSION_COOKIE_SECURE",
            "CSRF_COOKIE_SECURE",
        }
    }
    clean_env.update(env, DJANGO_SETTINGS_MODULE=settings)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def settings_values(env: dict[str, str], *names: str) -> dict:
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    result = run_django(code, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_passes_with_a_production_environment():
    result = run_django(
        "import sys; from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])",
        PRODUCTION_ENV,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "SECRET_KEY"}
    result = run_django("import django; django.setup()", env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_encryption_keys():
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "FIELD_ENCRYPTION_KEYS"}
    result = run_django("import django; django.setup()", env)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS must be set" in result.stderr


def test_the_database_is_sqlite_by_default_and_postgresql_from_database_url():
    sqlite = settings_values({"DEBUG": "1"}, "DATABASES")
    assert sqlite["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    postgres = settings_values(PRODUCTION_ENV, "DATABASES")
    assert postgres["DATABASES"]["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert postgres["DATABASES"]["default"]["HOST"] == "127.0.0.1"


def test_postgresql_prepares_repeated_queries_unless_told_not_to():
    options = settings_values(PRODUCTION_ENV, "DATABASES")["DATABASES"]["default"]["OPTIONS"]
    assert options == {"server_side_binding": True, "prepare_threshold": 5}
    off = settings_values({**PRODUCTION_ENV, "DATABASE_PREPARED_STATEMENTS": "0"}, "DATABASES")
    assert "prepare_threshold" not in off["DATABASES"]["default"].get("OPTIONS", {})
    sqlite = settings_values({"DEBUG": "1"}, "DATABASES")
    assert "prepare_threshold" not in sqlite["DATABASES"]["default"]["OPTIONS"]


def test_on_postgresql_the_fifth_run_of_a_query_prepares_it_on_the_server():
    code = (
        "import django; django.setup(); from django.db import connection; cursor = connection.cursor()\n"
        "for _ in range(6): cursor.execute('SELECT %s::int + 41', [1])\n"
        "answer = cursor.fetchone()[0]\n"
        "cursor.execute(\"SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%%+ 41'\")\n"
        "print(answer, cursor.fetchone()[0])"
    )
    result = run_django(code, {"DEBUG": "1", "DATABASE_URL": PRODUCTION_ENV["DATABASE_URL"]})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "42 1"


def test_the_task_broker_is_the_database_unless_redis_is_configured():
    orm = settings_values({"DEBUG": "1"}, "Q_CLUSTER")["Q_CLUSTER"]
    assert orm["orm"] == "default"
    assert "redis" not in orm
    redis = settings_values({"DEBUG": "1", "REDIS_URL": "redis://127.0.0.1:6379/3"}, "Q_CLUSTER", "CACHES")
    assert redis["Q_CLUSTER"]["redis"] == "redis://127.0.0.1:6379/3"
    assert "orm" not in redis["Q_CLUSTER"]
    assert redis["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


def test_successful_tasks_are_not_kept_unless_asked():
    assert settings_values({"DEBUG": "1"}, "Q_CLUSTER")["Q_CLUSTER"]["save_limit"] == -1
    assert settings_values({"DEBUG": "1", "Q_SAVE_LIMIT": "50"}, "Q_CLUSTER")["Q_CLUSTER"]["save_limit"] == 50


def test_the_redis_broker_really_reaches_redis_on_one_connection_pool_per_process():
    code = (
        "import django; django.setup(); from django_q.brokers import get_broker; "
        "first, second = get_broker('settings-test'), get_broker('settings-test'); first.delete_queue(); "
        "first.enqueue('a task'); task = second.dequeue(); second.delete_queue(); "
        "print(type(first).__name__, first.ping(), first.connection is second.connection, task[0][1])"
    )
    result = run_django(code, {"DEBUG": "1", "REDIS_URL": "redis://127.0.0.1:6379/3"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "PooledRedisBroker True True b'a task'"


def test_production_makes_2048_bit_keys_and_backs_off_a_second_before_retrying_a_provider():
    values = settings_values(PRODUCTION_ENV, "RSA_KEY_BITS", "PROVIDER_RETRY_BACKOFF")
    assert values == {"RSA_KEY_BITS": 2048, "PROVIDER_RETRY_BACKOFF": 1.0}


def test_encryption_keys_are_a_list_for_rotation():
    values = settings_values({"DEBUG": "1", "FIELD_ENCRYPTION_KEYS": "a,b , c"}, "FIELD_ENCRYPTION_KEYS")
    assert values["FIELD_ENCRYPTION_KEYS"] == ["a", "b", "c"]


def test_tasks_run_inline_under_test_settings(settings):
    from django_q.conf import Conf

    assert settings.Q_CLUSTER["sync"] is True
    assert Conf.SYNC is True


def test_it_explains_a_malformed_boolean():
    result = run_django("import django; django.setup()", {"DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_it_explains_a_malformed_rate_limit():
    result = run_django("import django; django.setup()", {"DEBUG": "1", "API_RATE_BURST": "50 per second"})
    assert result.returncode != 0
    assert "API_RATE_BURST must be a rate such as 50/s or 500/min" in result.stderr


def test_check_deploy_warns_about_unsigned_invitations_from_nowhere():
    env = {key: value for key, value in PRODUCTION_ENV.items() if not key.startswith("INVITATIONS_")}
    result = run_django(
        "import sys; from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy'])",
        env,
    )
    output = result.stdout + result.stderr
    assert "cronofy_site.W010" in output and "cronofy_site.W011" in output and "cronofy_site.W012" in output
