"""Rate limits in the style of Cronofy's documented ones: per application on `/v1` (a burst rate per
second and a sustained rate per minute), per client id on `/oauth/token`, and a growing pause for a
client whose secret keeps failing. Counters live in Django's cache (Redis when REDIS_URL is set), so
every web process shares them. A refused call is a 429 with Retry-After."""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import Application
from accounts.oauth import AccessContext, ServiceAccountContext

FAILURE_WINDOW_SECONDS = 15 * 60
MAX_PENALTY_SECONDS = 15 * 60


def application_of(request: Request) -> Application | None:
    if isinstance(request.auth, AccessContext | ServiceAccountContext):
        return request.auth.application
    if isinstance(request.auth, Application):
        return request.auth
    return None


class _PerApplication(SimpleRateThrottle):
    """Counts every call of an application, whichever of its accounts' tokens or its secret it used, in
    a fixed window: one atomic increment per call. DRF's own sliding window keeps every call's time in
    one cache entry, read and written whole on each call: at 500 a minute that is a 500-item list per
    call, and racing web processes overwrite each other's counts."""

    setting: str = ""
    _wait: float | None = None

    def get_rate(self) -> str:
        return getattr(settings, self.setting)

    def allow_request(self, request: Request, view: Any) -> bool:
        application = application_of(request)
        limit, period = self.parse_rate(self.get_rate())
        if application is None or limit is None or period is None:
            return True  # unauthenticated calls are refused before they cost anything
        self._wait = _window_hit(f"{self.scope}:{application.pk}", limit=limit, period=period)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


class ApplicationBurstThrottle(_PerApplication):
    scope = "application_burst"
    setting = "API_RATE_BURST"


class ApplicationSustainedThrottle(_PerApplication):
    scope = "application_sustained"
    setting = "API_RATE_SUSTAINED"


def _window_hit(key: str, *, limit: int, period: int) -> float | None:
    """Count a hit in a fixed window; the seconds to wait when over the limit, else None."""
    now = time.time()
    window = int(now // period)
    cache_key = f"throttle:{key}:{window}"
    cache.add(cache_key, 0, timeout=period + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=period + 1)
        count = 1
    if count > limit:
        return (window + 1) * period - now
    return None


def token_endpoint_wait(client_id: str) -> float | None:
    """Seconds this client must wait before calling the token endpoint again, or None: its own rate,
    and a pause that doubles with each failed secret after the first few."""
    penalty_until = cache.get(f"oauth-failures-until:{client_id}")
    if penalty_until and penalty_until > time.time():
        return penalty_until - time.time()
    return _window_hit(f"oauth-token:{client_id}", limit=settings.OAUTH_TOKEN_RATE_PER_MINUTE, period=60)


def token_endpoint_failed_secret(client_id: str) -> None:
    """A wrong secret for this client id: after OAUTH_FREE_FAILURES, each failure doubles the pause."""
    key = f"oauth-failures:{client_id}"
    cache.add(key, 0, timeout=FAILURE_WINDOW_SECONDS)
    try:
        failures = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=FAILURE_WINDOW_SECONDS)
        failures = 1
    over = failures - settings.OAUTH_FREE_FAILURES
    if over > 0:
        pause = min(2 ** (over - 1), MAX_PENALTY_SECONDS)
        cache.set(f"oauth-failures-until:{client_id}", time.time() + pause, timeout=pause + 1)


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
