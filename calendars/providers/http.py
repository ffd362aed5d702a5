"""HTTP for provider clients: a timeout on every call, and routing of hosts the sandbox stands in for."""

from __future__ import annotations

from typing import Any

import requests
from django.conf import settings


class ProviderSession(requests.Session):
    """requests.Session with a default timeout and prefix routes ({"https://login.microsoftonline.com":
    "http://127.0.0.1:8000/sandbox/microsoft/login"}). MSAL accepts it as its `http_client`."""

    def __init__(self, routes: dict[str, str] | None = None) -> None:
        super().__init__()
        self.routes = routes or {}
        # MSAL hands its callers the token endpoint's JSON, not its headers: the last Retry-After seen is
        # kept here for them.
        self.last_retry_after: str | None = None

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        address = url.decode() if isinstance(url, bytes) else url
        for prefix, target in self.routes.items():
            if address.startswith(prefix):
                address = target + address[len(prefix) :]
                break
        kwargs.setdefault("timeout", settings.PROVIDER_HTTP_TIMEOUT)
        response = super().request(method, address, *args, **kwargs)
        self.last_retry_after = response.headers.get("Retry-After")
        return response
