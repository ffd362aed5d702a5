"""Retrying provider calls that failed in a way a retry can fix, honouring Retry-After."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

from calendars.providers.base import ProviderError

T = TypeVar("T")


def with_retries(operation: Callable[[], T], *, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `operation`; on a retryable ProviderError wait (Retry-After when the provider gave one,
    exponential backoff with jitter from PROVIDER_RETRY_BACKOFF otherwise) and try again, up to
    PROVIDER_MAX_ATTEMPTS. A wait longer than PROVIDER_MAX_RETRY_WAIT is not waited for here: the error
    goes up, still retryable, for the task queue to retry later."""
    attempts = max(1, settings.PROVIDER_MAX_ATTEMPTS)
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except ProviderError as error:
            if not error.retryable or attempt == attempts:
                raise
            wait = error.retry_after
            if wait is None:
                backoff = settings.PROVIDER_RETRY_BACKOFF * min(2 ** (attempt - 1), 16)
                wait = backoff * (0.5 + random.random() / 2)  # noqa: S311  # jitter, not cryptography
            if wait > settings.PROVIDER_MAX_RETRY_WAIT:
                raise
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare from these providers; back off instead
