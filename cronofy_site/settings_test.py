"""Test settings: the production settings with fixed test keys, fast hashing and inline tasks."""

import os
import socket


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The live server of browser and end-to-end tests listens at a fixed address chosen now, because
# allauth reads provider URLs (the sandbox, served by that live server) when it is imported. Each
# pytest-xdist worker inherits the controller's environment, so each picks its own address.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker and os.environ.get("_LIVE_SERVER_OF_WORKER") != _worker:
    os.environ["DJANGO_LIVE_TEST_SERVER_ADDRESS"] = f"127.0.0.1:{_free_port()}"
    os.environ["SITE_URL"] = f"http://{os.environ['DJANGO_LIVE_TEST_SERVER_ADDRESS']}"
    os.environ["_LIVE_SERVER_OF_WORKER"] = _worker
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", f"127.0.0.1:{_free_port()}")
os.environ.setdefault("SITE_URL", f"http://{os.environ['DJANGO_LIVE_TEST_SERVER_ADDRESS']}")

# Two keys so every test runs with rotation in place: the first encrypts, both decrypt.
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghijklmnop")
os.environ.setdefault(
    "FIELD_ENCRYPTION_KEYS",
    "tPj0QCa2C7c3xG0Zb2U8TZ9m5W0C3m8X8b0Nn1FQy2k=,Wq8M0r3cT3bV1c4u8g3Kx0Ff2n5Qe7Rw9Ys1Zx4Cv6A=",
)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")
os.environ.setdefault("SANDBOX_ENABLED", "1")
os.environ.setdefault("SANDBOX_CONTROL_TOKEN", "test-sandbox-control-token")
# The test servers (channel receivers, the live server) listen on loopback: the explicit exception.
os.environ.setdefault("OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")

from .settings import *  # noqa: E402  # the environment above must be set first

# Provider outages in tests are the sandbox's faults: retrying them after 10 ms instead of a second
# exercises the same path (a Retry-After the sandbox sends is still waited for as given).
PROVIDER_RETRY_BACKOFF = 0.01
# Hundreds of tests make keys: 1024 bits, the least DKIM verifiers accept, is found 7x faster than 2048.
# The benchmarks, which run on these settings too, ask for production's 2048 (signing is part of what
# they measure).
RSA_KEY_BITS = int(os.environ.get("RSA_KEY_BITS", "1024"))
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if "EMAIL_BACKEND" not in os.environ:  # a test's worker process may be pointed at a real SMTP server
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
# The personas sign in with force_login, which has no second factor; the MFA tests turn this on.
STAFF_MFA_REQUIRED = False
LOGGING["root"]["level"] = "WARNING"
# Static files straight from the apps: tests never run collectstatic.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

# Live-server threads must not keep connections open past the test run, or the test database
# cannot be dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0

# A file, not SQLite's in-memory database: the live server of the browser tests then opens its own
# connections per thread, as a real server does, instead of sharing the test's connection.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test.sqlite3")}
