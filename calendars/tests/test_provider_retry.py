"""Retrying a provider: exponential backoff with jitter from PROVIDER_RETRY_BACKOFF, Retry-After as given."""

from __future__ import annotations

import pytest

from calendars.providers.base import ProviderError
from calendars.providers.retry import with_retries


def failing(times: int, *, retry_after: float | None = None, retryable: bool = True):
    calls = {"count": 0}

    def operation() -> str:
        calls["count"] += 1
        if calls["count"] <= times:
            raise ProviderError("down", retryable=retryable, retry_after=retry_after, status=503)
        return "answer"

    return operation, calls


def test_each_wait_doubles_from_the_configured_backoff_with_jitter(settings):
    settings.PROVIDER_RETRY_BACKOFF, settings.PROVIDER_MAX_ATTEMPTS = 1.0, 4
    operation, calls = failing(3)
    waits: list[float] = []
    assert with_retries(operation, sleep=waits.append) == "answer"
    assert calls["count"] == 4
    for wait, (low, high) in zip(waits, [(0.5, 1), (1, 2), (2, 4)], strict=True):
        assert low <= wait <= high


def test_a_retry_after_is_waited_for_as_given_whatever_the_backoff(settings):
    settings.PROVIDER_RETRY_BACKOFF = 0.01
    operation, _ = failing(1, retry_after=3)
    waits: list[float] = []
    with_retries(operation, sleep=waits.append)
    assert waits == [3]


def test_the_last_attempts_error_goes_up_and_a_final_one_is_not_retried(settings):
    settings.PROVIDER_MAX_ATTEMPTS = 3
    operation, calls = failing(5)
    with pytest.raises(ProviderError):
        with_retries(operation, sleep=lambda _: None)
    assert calls["count"] == 3
    refused, refused_calls = failing(1, retryable=False)
    with pytest.raises(ProviderError):
        with_retries(refused, sleep=lambda _: None)
    assert refused_calls["count"] == 1


def test_a_wait_longer_than_the_limit_goes_back_to_the_task_queue(settings):
    settings.PROVIDER_MAX_RETRY_WAIT = 30
    operation, calls = failing(1, retry_after=120)
    with pytest.raises(ProviderError) as raised:
        with_retries(operation, sleep=lambda _: pytest.fail("waited in place"))
    assert raised.value.retryable and calls["count"] == 1
