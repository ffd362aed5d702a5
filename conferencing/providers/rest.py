"""What the JSON-over-HTTP conferencing clients (Zoom, Webex, Teams) share: one call with a bearer
token, a fresh token once when the provider says the old one is no longer good, retries honouring
Retry-After, and the provider's error turned into ours by the client's own `translate`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from calendars.providers.base import ProviderError
from calendars.providers.http import ProviderSession
from calendars.providers.retry import with_retries


class _OutcomeUnknown(Exception):
    """Carries a ProviderError past the retry loop: a call that must not be repeated in place."""

    def __init__(self, error: ProviderError) -> None:
        super().__init__(str(error))
        self.error = error


class RestClient:
    """Subclasses give `_token(force=...)` and `translate(response)`."""

    name = "The provider"

    def __init__(self) -> None:
        self._http = ProviderSession()

    def _token(self, *, force: bool = False) -> str:
        raise NotImplementedError

    def translate(self, response: requests.Response) -> ProviderError:
        raise NotImplementedError

    def call(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        ok_missing: bool = False,
        idempotent: bool = True,
    ) -> requests.Response | None:
        """The response of a successful call (None for a 404 when `ok_missing`); ProviderError otherwise.

        A call that is not idempotent (a create without an idempotency key) is not repeated here when no
        answer came back: the provider may have done it. The error goes up, still retryable, and the
        caller looks for what the lost attempt made before trying again.
        """

        def attempt() -> requests.Response | None:
            for fresh in (False, True):
                try:
                    response = self._http.request(
                        method,
                        url,
                        json=json,
                        params=params,
                        headers={"Authorization": f"Bearer {self._token(force=fresh)}"},
                    )
                except requests.RequestException as error:
                    failure = ProviderError(f"{self.name} unreachable: {type(error).__name__}", retryable=True)
                    if not idempotent:
                        raise _OutcomeUnknown(failure) from None
                    raise failure from None
                if response.status_code == 401 and not fresh:
                    continue  # a token revoked or expired early: get a new one, once
                break
            if ok_missing and response.status_code == 404:
                return None
            if response.status_code >= 400:
                raise self.translate(response)
            return response

        try:
            return with_retries(attempt)
        except _OutcomeUnknown as unknown:
            raise unknown.error from None

    def call_json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        response = self.call(method, url, **kwargs)
        if response is None or response.status_code == 204 or not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise ProviderError(f"{self.name} answered with something that is not JSON.", retryable=True) from None

    def token_request(self, send: Callable[[], requests.Response]) -> dict[str, Any]:
        """A call to the provider's token endpoint, its transport failures retryable."""
        try:
            response = send()
        except requests.RequestException as error:
            raise ProviderError(
                f"{self.name}'s token endpoint unreachable: {type(error).__name__}", retryable=True
            ) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise ProviderError(
                f"{self.name}'s token endpoint answered {response.status_code}",
                retryable=True,
                status=response.status_code,
            )
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400 or "access_token" not in body:
            return {"error": body or {"status": response.status_code}, "status": response.status_code}
        return body
