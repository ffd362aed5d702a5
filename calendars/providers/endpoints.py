"""Where the providers are: their real hosts in production, the sandbox when it is on, or an explicit
override per URL (settings.PROVIDER_URL_OVERRIDES). Read at call time, so tests can move the sandbox."""

from __future__ import annotations

from django.conf import settings

from core.provider_urls import REAL, provider_url


def url(name: str) -> str:
    return provider_url(
        name,
        sandbox_enabled=settings.SANDBOX_ENABLED,
        sandbox_url=settings.SANDBOX_URL,
        overrides=settings.PROVIDER_URL_OVERRIDES,
    )


def google_token_url() -> str:
    return url("GOOGLE_TOKEN_URL")


def google_calendar_api_url() -> str:
    return url("GOOGLE_CALENDAR_API_URL")


def microsoft_graph_url() -> str:
    return url("MICROSOFT_GRAPH_URL").rstrip("/")


def microsoft_authority_host() -> str:
    """The https host MSAL is given. When Microsoft's login lives elsewhere (the sandbox), MSAL still sees
    Microsoft's real host and the HTTP seam routes it (MSAL refuses anything but https)."""
    login = url("MICROSOFT_LOGIN_URL").rstrip("/")
    return login if login.startswith("https://") else REAL["MICROSOFT_LOGIN_URL"]


def microsoft_login_routes() -> dict[str, str]:
    """Prefix rewrites for the MSAL seam: Microsoft's real login host to wherever login really is."""
    login = url("MICROSOFT_LOGIN_URL").rstrip("/")
    host = microsoft_authority_host()
    return {} if login == host else {host: login}


def browser_url(address: str) -> str:
    """An address a person's browser should open (MSAL builds authorize URLs on the routed host)."""
    for prefix, target in microsoft_login_routes().items():
        if address.startswith(prefix):
            return target + address[len(prefix) :]
    return address
