"""Settings for cronofy_site, read from the environment.

Every setting has a safe development default so that `make demo` works on a fresh machine, and
production refuses to start without the secrets it needs (SECRET_KEY, FIELD_ENCRYPTION_KEYS).
See README.md "Configuration reference" for every variable.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from core import provider_urls

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def envfloat(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None


def envrate(name: str, default: str) -> str:
    """A rate in DRF's notation: a count, a slash and a period (`50/s`, `500/min`, `10/hour`, `1/day`)."""
    value = env(name, default)
    if not re.fullmatch(r"\d+/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        raise ImproperlyConfigured(f"{name} must be a rate such as 50/s or 500/min, got {value!r}")
    return value


def envlist(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = envbool("DEBUG", False)

# A development key only when DEBUG is on: production must bring its own.
_DEVELOPMENT_SECRET_KEY = "insecure-development-key-do-not-use-in-production-7c1f0b9e"  # noqa: S105  # development only
SECRET_KEY = env("SECRET_KEY") or (_DEVELOPMENT_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

# Fernet keys for credentials at rest, newest first: the first encrypts, all of them decrypt, so a
# new key is prepended, `manage.py rotate_encryption_keys` re-encrypts, then the old key is dropped.
FIELD_ENCRYPTION_KEYS = envlist("FIELD_ENCRYPTION_KEYS", [])
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be set when DEBUG is off "
            "(generate one with `python manage.py generate_encryption_key`)."
        )
    # Development only: derived from the development SECRET_KEY so the demo database stays readable
    # across restarts without anyone handling a key.
    FIELD_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(f"field-encryption:{SECRET_KEY}".encode()).digest()).decode()
    ]

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "cronofy_site.apps.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.microsoft",
    "allauth.mfa",
    "allauth.idp.oidc",
    "anymail",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "cronofy_site.apps.CronofySiteConfig",
    "core",
    "accounts",
    "calendars",
    "directory",
    "conferencing",
    "bookings",
    "connect",
    "sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "core.middleware.JsonBodyLimits",
]

ROOT_URLCONF = "cronofy_site.urls"
WSGI_APPLICATION = "cronofy_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite file by default (zero setup); PostgreSQL in CI and production through DATABASE_URL.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}",
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One connection per request: SQLite has nothing to pool, and WAL lets the worker and the web
    # server read while the other writes.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        }
    )
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
elif envbool("DATABASE_PREPARED_STATEMENTS", True):
    # Planning costs PostgreSQL more than running most of our queries (an access token's lookup: 0.85
    # of its 0.96 ms). With parameters bound on the server, psycopg prepares a query the fifth time a
    # connection runs it, and PostgreSQL plans it no more. Django leaves this off for poolers that
    # cannot keep prepared statements (PgBouncer before 1.21 in transaction mode): set it to false there.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/admin/"

# allauth: email is the login; the consent pages (later) reuse these accounts.
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https://") else "http"
SOCIALACCOUNT_STORE_TOKENS = False  # provider tokens live encrypted in our own credential fields
ACCOUNT_ADAPTER = "connect.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "connect.adapters.SocialAccountAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_TOTP_ISSUER = env("MFA_TOTP_ISSUER", "Scheduling")
# The IT-admin console holds organizations' provider grants: staff need a second factor (an
# authenticator app, or a security key) before it opens. On unless DEBUG, so the demo stays one click.
STAFF_MFA_REQUIRED = envbool("STAFF_MFA_REQUIRED", not DEBUG)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# django-q2: the ORM broker needs no extra server; Redis is used when REDIS_URL is set. `retry` must
# exceed `timeout`, or a slow task is handed to a second worker while the first still runs.
Q_CLUSTER: dict[str, Any] = {
    "name": "cronofy_site",
    "workers": envint("Q_WORKERS", 2),
    "timeout": envint("Q_TIMEOUT", 120),
    "retry": envint("Q_RETRY", 300),
    "max_attempts": envint("Q_MAX_ATTEMPTS", 5),
    # A task that fails is not redelivered by the broker: the code that owns the work retries it (the
    # outboxes' backoff, schedule_retry for provider calls, the poller for syncs). The broker only
    # redelivers tasks whose worker died before finishing them (Q_RETRY seconds later).
    "ack_failures": True,
    # Successful tasks are not kept (failures always are): to keep the last N, django-q2 locks and reads
    # all N, with their pickled arguments and results, after every task, which cost the task clusters
    # more than most of the tasks themselves.
    "save_limit": envint("Q_SAVE_LIMIT", -1),
    "queue_limit": 50,
    "catch_up": False,
    "time_zone": "UTC",
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
    Q_CLUSTER["broker_class"] = "core.task_broker.PooledRedisBroker"
else:
    Q_CLUSTER["orm"] = "default"
if Q_CLUSTER["retry"] <= Q_CLUSTER["timeout"]:
    raise ImproperlyConfigured("Q_RETRY must be larger than Q_TIMEOUT, or tasks run twice.")

# Email: SMTP when EMAIL_HOST is set; the console in development otherwise.
EMAIL_HOST = env("EMAIL_HOST")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST or not DEBUG
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = EMAIL_HOST or "localhost"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Scheduling <no-reply@localhost>")
SERVER_EMAIL = env("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# Invitations for Free/Busy and No Access organizers. They are sent from our own address (so DKIM
# aligns) with the organizer's name shown; attendees' replies go to an agent address per event on
# INVITATIONS_REPLY_DOMAIN, whose mail must reach this system (SMTP receiver or inbound webhook).
INVITATIONS_FROM_EMAIL = env("INVITATIONS_FROM_EMAIL", "invitations@localhost")
INVITATIONS_SENDER_NAME = env("INVITATIONS_SENDER_NAME", "Scheduling")
INVITATIONS_REPLY_DOMAIN = env("INVITATIONS_REPLY_DOMAIN", "invites.localhost")
INVITATIONS_REPLY_LOCAL_PART = env("INVITATIONS_REPLY_LOCAL_PART", "event")
INVITATIONS_MAX_ATTEMPTS = envint("INVITATIONS_MAX_ATTEMPTS", 8)
# DKIM key (PEM) for INVITATIONS_FROM_EMAIL's domain; `manage.py generate_dkim_key` makes one and prints
# the DNS record to publish. Without it invitations go out unsigned.
# The size of every RSA key the platform makes (DKIM keys, SuccessFactors signing pairs, the sandbox's keys).
RSA_KEY_BITS = 2048
INVITATIONS_DKIM_PRIVATE_KEY = env("INVITATIONS_DKIM_PRIVATE_KEY", "").replace("\\n", "\n")
INVITATIONS_DKIM_SELECTOR = env("INVITATIONS_DKIM_SELECTOR", "scheduling")
# Organizations' own sending domains (admin, Sender domains): the MX host their reply subdomain points
# to, an SPF include to suggest, and which DNS servers verify their records (the system's by default).
INVITATIONS_MX_HOST = env("INVITATIONS_MX_HOST", f"mx.{INVITATIONS_REPLY_DOMAIN}")
INVITATIONS_SPF_INCLUDE = env("INVITATIONS_SPF_INCLUDE", "")
DNS_NAMESERVERS = envlist("DNS_NAMESERVERS", [])
# Calls to URLs someone else supplied (channel callbacks) go only to public addresses over https
# (core/outbound.py). These networks are the explicit exception: a URL whose host is written as an
# address inside them (never a name resolving there) may be called, over http too. The demo's
# integrator and tests listen on loopback; production leaves it empty.
OUTBOUND_ALLOWED_NETWORKS = envlist("OUTBOUND_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"] if DEBUG else [])
# Replies count only from authenticated senders: a DKIM signature aligned with the From domain, or an
# SMTP client in these networks (a relay of yours that checked SPF and DKIM; the demo's sandbox
# mailboxes send from loopback). Production leaves it empty unless such a relay delivers the mail.
INVITATIONS_REPLY_TRUSTED_NETWORKS = envlist("INVITATIONS_REPLY_TRUSTED_NETWORKS", ["127.0.0.0/8"] if DEBUG else [])
# Where `manage.py receive_replies` listens for replies by SMTP.
INVITATIONS_SMTP_HOST = env("INVITATIONS_SMTP_HOST", "127.0.0.1")
INVITATIONS_SMTP_PORT = envint("INVITATIONS_SMTP_PORT", 2525)
# Replies through an email provider's inbound webhook (django-anymail), e.g. Mailgun at
# /anymail/mailgun/inbound/. Without a signing key every webhook call fails its signature check.
ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": env("MAILGUN_WEBHOOK_SIGNING_KEY", "") or secrets.token_hex(32)}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "core.api_schema.CronofyAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "core.api.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.api_auth.AccessTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api_auth.HasScope"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "core.api.cronofy_exception_handler",
    # Per application, as Cronofy documents its limits (accounts/throttles.py).
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttles.ApplicationRateThrottle"],
}
API_RATE_BURST = envrate("API_RATE_BURST", "50/s")
API_RATE_SUSTAINED = envrate("API_RATE_SUSTAINED", "500/min")
OAUTH_TOKEN_RATE_PER_MINUTE = envint("OAUTH_TOKEN_RATE_PER_MINUTE", 60)
# Wrong client secrets tolerated per client id (15 minutes) before each further one doubles a pause.
OAUTH_FREE_FAILURES = envint("OAUTH_FREE_FAILURES", 5)
SPECTACULAR_SETTINGS = {
    "TITLE": "cronofy_site API",
    "DESCRIPTION": "Cronofy-compatible scheduling API with organizational calendar access modes.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs pages load Swagger UI and Redoc from the drf-spectacular-sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set that several fields share.
    "ENUM_NAME_OVERRIDES": {
        "ParticipationStatusEnum": ["needs_action", "accepted", "declined", "tentative", "unknown"],
        "EventStatusEnum": ["confirmed", "tentative", "cancelled"],
        "FreeBusyStatusEnum": ["busy", "tentative", "free", "unknown"],
        "AuthorizationStatusEnum": ["active"],
    },
}

# Production hardening; every value can be relaxed through the environment (behind a TLS proxy
# set SECURE_PROXY_SSL_HEADER=1).
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", not DEBUG)
if envbool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        # Request bodies and provider payloads never reach the logs at INFO.
        "django.request": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "googleapiclient": {"level": "WARNING"},
        "msal": {"level": "WARNING"},
    },
}

# Calendar providers. The sandbox (sandbox/) serves local stand-ins for Google and Microsoft: it is on
# in development, the demo and tests, and production turns it on only explicitly. Provider URLs
# default to the real hosts, or to the sandbox when it is on; each can be overridden.
SANDBOX_ENABLED = envbool("SANDBOX_ENABLED", DEBUG)
SANDBOX_URL = env("SANDBOX_URL", f"{SITE_URL}/sandbox").rstrip("/")
# The sandbox's mail: `manage.py sandbox_mail` keeps everything sent to it (point EMAIL_HOST/EMAIL_PORT
# there); answers to invitations go to the reply receiver, as attendees' mail servers would send them.
SANDBOX_MAIL_PORT = envint("SANDBOX_MAIL_PORT", 1025)
SANDBOX_REPLY_SMTP_HOST = env("SANDBOX_REPLY_SMTP_HOST", INVITATIONS_SMTP_HOST)
SANDBOX_REPLY_SMTP_PORT = envint("SANDBOX_REPLY_SMTP_PORT", INVITATIONS_SMTP_PORT)
SANDBOX_CONTROL_TOKEN = env("SANDBOX_CONTROL_TOKEN")
# MSAL insists on an https authority; the sandbox advertises Microsoft's real host and the product's
# MSAL seam (calendars/providers/http.py) routes it to SANDBOX_URL.
SANDBOX_MICROSOFT_PUBLISHED_LOGIN_URL = "https://login.microsoftonline.com"
SANDBOX_GOOGLE_CLIENT_ID = "sandbox-client.apps.googleusercontent.com"
SANDBOX_GOOGLE_CLIENT_SECRET = "sandbox-google-client-secret"  # noqa: S105  # public demo value
SANDBOX_MICROSOFT_CLIENT_ID = "5a2d9c61-0b7e-4f3a-9d41-6c1f3e8b7a20"
SANDBOX_MICROSOFT_CLIENT_SECRET = "sandbox-microsoft-client-secret"  # noqa: S105  # public demo value
SANDBOX_MICROSOFT_FREE_BUSY_CLIENT_ID = "9e41c7d2-3f58-4a06-b1e9-2d7c5a0f6b31"
SANDBOX_MICROSOFT_FREE_BUSY_CLIENT_SECRET = "sandbox-microsoft-free-busy-secret"  # noqa: S105  # public demo value
SANDBOX_MICROSOFT_DIRECTORY_CLIENT_ID = "c7b35e08-6a1d-4f92-8e3b-0d5a9f7c2e64"
SANDBOX_MICROSOFT_DIRECTORY_CLIENT_SECRET = "sandbox-microsoft-directory-secret"  # noqa: S105  # public demo value

GOOGLE_CLIENT_ID = env("GOOGLE_CLIENT_ID", SANDBOX_GOOGLE_CLIENT_ID if SANDBOX_ENABLED else "")
GOOGLE_CLIENT_SECRET = env("GOOGLE_CLIENT_SECRET", SANDBOX_GOOGLE_CLIENT_SECRET if SANDBOX_ENABLED else "")
MICROSOFT_CLIENT_ID = env("MICROSOFT_CLIENT_ID", SANDBOX_MICROSOFT_CLIENT_ID if SANDBOX_ENABLED else "")
MICROSOFT_CLIENT_SECRET = env("MICROSOFT_CLIENT_SECRET", SANDBOX_MICROSOFT_CLIENT_SECRET if SANDBOX_ENABLED else "")
# Application permissions are fixed per app registration, so Free/Busy organizations consent to a
# second registration that holds only Calendars.ReadBasic.All (least privilege, as Cronofy does).
MICROSOFT_FREE_BUSY_CLIENT_ID = env(
    "MICROSOFT_FREE_BUSY_CLIENT_ID", SANDBOX_MICROSOFT_FREE_BUSY_CLIENT_ID if SANDBOX_ENABLED else MICROSOFT_CLIENT_ID
)
MICROSOFT_FREE_BUSY_CLIENT_SECRET = env(
    "MICROSOFT_FREE_BUSY_CLIENT_SECRET",
    SANDBOX_MICROSOFT_FREE_BUSY_CLIENT_SECRET if SANDBOX_ENABLED else MICROSOFT_CLIENT_SECRET,
)
# Directory services read people, domains and rooms: a third registration holding exactly the
# Organizational Accounts page's directory permissions (User.Read.All, Organization.Read.All,
# Place.Read.All), so consenting to the directory grants nothing else.
MICROSOFT_DIRECTORY_CLIENT_ID = env(
    "MICROSOFT_DIRECTORY_CLIENT_ID", SANDBOX_MICROSOFT_DIRECTORY_CLIENT_ID if SANDBOX_ENABLED else ""
)
MICROSOFT_DIRECTORY_CLIENT_SECRET = env(
    "MICROSOFT_DIRECTORY_CLIENT_SECRET", SANDBOX_MICROSOFT_DIRECTORY_CLIENT_SECRET if SANDBOX_ENABLED else ""
)
# Conferencing: a third Entra registration holding only what Teams meetings need (consented by
# organizations connecting Teams, never their calendars); a Zoom user-managed OAuth app and a Webex
# integration for people linking their own accounts, the Webex integration also for organizations'
# admins. Zoom organizations bring their own Server-to-Server app (account id, client id, secret).
SANDBOX_MICROSOFT_TEAMS_CLIENT_ID = "c7e0b3a9-61d4-4f2e-8a15-3b9d0e6f2c48"
SANDBOX_MICROSOFT_TEAMS_CLIENT_SECRET = "sandbox-microsoft-teams-secret"  # noqa: S105  # public demo value
SANDBOX_ZOOM_CLIENT_ID = "sbxZoomUserApp01"
SANDBOX_ZOOM_CLIENT_SECRET = "sandbox-zoom-user-app-secret"  # noqa: S105  # public demo value
SANDBOX_WEBEX_CLIENT_ID = "Csbx0f8e2a6c4b1d9e7f3a5c8b0d2e4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0"
SANDBOX_WEBEX_CLIENT_SECRET = "sandbox-webex-integration-secret"  # noqa: S105  # public demo value
MICROSOFT_TEAMS_CLIENT_ID = env(
    "MICROSOFT_TEAMS_CLIENT_ID", SANDBOX_MICROSOFT_TEAMS_CLIENT_ID if SANDBOX_ENABLED else ""
)
MICROSOFT_TEAMS_CLIENT_SECRET = env(
    "MICROSOFT_TEAMS_CLIENT_SECRET", SANDBOX_MICROSOFT_TEAMS_CLIENT_SECRET if SANDBOX_ENABLED else ""
)
ZOOM_CLIENT_ID = env("ZOOM_CLIENT_ID", SANDBOX_ZOOM_CLIENT_ID if SANDBOX_ENABLED else "")
ZOOM_CLIENT_SECRET = env("ZOOM_CLIENT_SECRET", SANDBOX_ZOOM_CLIENT_SECRET if SANDBOX_ENABLED else "")
WEBEX_CLIENT_ID = env("WEBEX_CLIENT_ID", SANDBOX_WEBEX_CLIENT_ID if SANDBOX_ENABLED else "")
WEBEX_CLIENT_SECRET = env("WEBEX_CLIENT_SECRET", SANDBOX_WEBEX_CLIENT_SECRET if SANDBOX_ENABLED else "")
# Attempts at creating, moving or deleting a meeting before an event's conferencing is given up.
CONFERENCING_MAX_ATTEMPTS = envint("CONFERENCING_MAX_ATTEMPTS", 6)
PROVIDER_URL_OVERRIDES = {name: env(name) for name in provider_urls.REAL if env(name)}


def _provider_url(name: str) -> str:
    return provider_urls.provider_url(
        name, sandbox_enabled=SANDBOX_ENABLED, sandbox_url=SANDBOX_URL, overrides=PROVIDER_URL_OVERRIDES
    )


# allauth's provider login (the consent pages' "connect your calendar" step). Google's URLs are read
# when allauth imports, hence set here; Microsoft's per app. Scopes are chosen per connection from the
# scope registry; tokens are moved into our encrypted credentials, never stored by allauth.
SOCIALACCOUNT_PROVIDERS = {
    "google": {
        "APPS": [{"client_id": GOOGLE_CLIENT_ID, "secret": GOOGLE_CLIENT_SECRET}],
        "SCOPE": ["email", "profile"],
        "AUTH_PARAMS": {"access_type": "offline", "prompt": "consent"},
        "OAUTH_PKCE_ENABLED": True,
        "AUTHORIZE_URL": _provider_url("GOOGLE_AUTHORIZE_URL"),
        "ACCESS_TOKEN_URL": _provider_url("GOOGLE_TOKEN_URL"),
        "IDENTITY_URL": _provider_url("GOOGLE_USERINFO_URL"),
        "CERTS_URL": _provider_url("GOOGLE_CERTS_URL"),
    },
    "microsoft": {
        # Both app registrations: a person who connects in Free/Busy consents to the least-privileged
        # one, and sees its name at Microsoft. The consent flow names the one it uses.
        "APPS": [
            {
                "client_id": client_id,
                "secret": secret,
                "settings": {
                    "tenant": "organizations",
                    "login_url": _provider_url("MICROSOFT_LOGIN_URL"),
                    "graph_url": _provider_url("MICROSOFT_GRAPH_URL"),
                    "hidden": index > 0,
                },
            }
            for index, (client_id, secret) in enumerate(
                dict.fromkeys(
                    [
                        (MICROSOFT_CLIENT_ID, MICROSOFT_CLIENT_SECRET),
                        (MICROSOFT_FREE_BUSY_CLIENT_ID, MICROSOFT_FREE_BUSY_CLIENT_SECRET),
                    ]
                )
            )
        ],
        "SCOPE": ["User.Read", "offline_access"],
        "OAUTH_PKCE_ENABLED": True,
    },
}
PROVIDER_HTTP_TIMEOUT = envint("PROVIDER_HTTP_TIMEOUT", 30)
PROVIDER_MAX_ATTEMPTS = envint("PROVIDER_MAX_ATTEMPTS", 4)
PROVIDER_MAX_RETRY_WAIT = envint("PROVIDER_MAX_RETRY_WAIT", 30)
# The first wait before retrying a provider without a Retry-After; each next wait doubles (with jitter).
PROVIDER_RETRY_BACKOFF = envfloat("PROVIDER_RETRY_BACKOFF", 1.0)
# Directory rounds: how many attempts a round gets when the provider is down before it waits for the
# next scheduled round (each directory service says how often it is read).
DIRECTORY_ROUND_ATTEMPTS = envint("DIRECTORY_ROUND_ATTEMPTS", 5)
# People per page asked of the directory providers (Google allows 500 at most).
DIRECTORY_PAGE_SIZE = envint("DIRECTORY_PAGE_SIZE", 500)

# Demo: the password every seeded demo user gets (development only).
DEMO_PASSWORD = env("DEMO_PASSWORD", "demo-password-2026")
