"""Rate limits in the style of Cronofy's documented ones: per application on `/v1` (a burst rate per
second and a sustained rate per minute), per client id on `/oauth/token`, and a growing pause for a
client whose secret keeps failing. Counters live in Django's cache (Redis when REDIS_URL is set), so
every web process shares them. A refused call is a 429 with Retry-After."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

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


@dataclass(frozen=True)
class Window:
    """A fixed window of `period` seconds that allows `limit` hits."""

    key: str
    limit: int
    period: int


RATE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_window(key: str, rate: str) -> Window:
    """`50/s`, `500/min`, `10/hour`: DRF's notation of a rate, as the settings give them."""
    number, _, period = rate.partition("/")
    return Window(key=key, limit=int(number), period=RATE_PERIODS[period[:1]])


def window_hits(windows: list[Window]) -> float | None:
    """Count one hit in each window; the longest wait among the windows over their limit, else None.

    On Redis every window is counted in one round trip (create the counter with its expiry unless it
    exists, then increment it: atomic per key, whichever process calls). Django's cache API would take
    three round trips per window (add, then incr, which checks the key exists first)."""
    now = time.time()
    numbered = [(window, int(now // window.period)) for window in windows]
    names = [f"throttle:{window.key}:{number}" for window, number in numbered]
    backend = caches[DEFAULT_CACHE_ALIAS]
    counts: list[int] = []
    if isinstance(backend, RedisCache):
        keys = [backend.make_and_validate_key(name) for name in names]
        client = backend._cache.get_client(keys[0], write=True)  # type: ignore[attr-defined]  # its redis-py client
        with client.pipeline(transaction=False) as pipeline:
            for key, (window, _) in zip(keys, numbered, strict=True):
                pipeline.set(key, 0, ex=window.period + 1, nx=True)
                pipeline.incr(key)
            counts = pipeline.execute()[1::2]
    else:
        for name, (window, _) in zip(names, numbered, strict=True):
            backend.add(name, 0, timeout=window.period + 1)
            try:
                counts.append(backend.incr(name))
            except ValueError:  # expired between add and incr
                backend.set(name, 1, timeout=window.period + 1)
                counts.append(1)
    waits = [
        (number + 1) * window.period - now
        for (window, number), count in zip(numbered, counts, strict=True)
        if count > window.limit
    ]
    return max(waits) if waits else None


class ApplicationRateThrottle(BaseThrottle):
    """Every call of an application, whichever of its accounts' tokens or its secret it used, counts
    against its burst rate (API_RATE_BURST, per second) and its sustained rate (API_RATE_SUSTAINED, per
    minute), in fixed windows: one atomic increment per window and call. DRF's own sliding window kept
    every call's time in one cache entry, read and written whole on each call (a 500-item list at 500 a
    minute), and racing web processes overwrote each other's counts."""

    _wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        application = application_of(request)
        if application is None:
            return True  # unauthenticated calls are refused before they cost anything
        self._wait = window_hits(
            [
                rate_window(f"application_burst:{application.pk}", settings.API_RATE_BURST),
                rate_window(f"application_sustained:{application.pk}", settings.API_RATE_SUSTAINED),
            ]
        )
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


def token_endpoint_wait(client_id: str) -> float | None:
    """Seconds this client must wait before calling the token endpoint again, or None: its own rate,
    and a pause that doubles with each failed secret after the first few."""
    penalty_until = cache.get(f"oauth-failures-until:{client_id}")
    if penalty_until and penalty_until > time.time():
        return penalty_until - time.time()
    return window_hits([Window(key=f"oauth-token:{client_id}", limit=settings.OAUTH_TOKEN_RATE_PER_MINUTE, period=60)])


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
