"""Errors every layer may raise and the API layer knows how to answer."""

from __future__ import annotations


class UpstreamError(Exception):
    """A service we depend on (a calendar, directory or conferencing provider) failed the request.

    `retryable` failures (rate limits, outages) are worth trying again, after `retry_after` seconds when
    the service said so; the others need a person (a revoked grant, a missing permission).
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
