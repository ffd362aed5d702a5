"""Clients for the conferencing providers, one per provider behind one interface, built from what the
conferencing app stores for a service or a profile (plain values: this package imports no model)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from calendars.scopes import Flow, provider_scopes
from conferencing.providers import webex, zoom
from conferencing.providers.base import ConferencingClient, ConferencingUser
from conferencing.providers.meet import MeetClient
from conferencing.providers.teams import TeamsClient
from conferencing.providers.webex import WebexClient
from conferencing.providers.zoom import ZoomClient

CLIENTS: dict[str, Callable[..., ConferencingClient]] = {
    "google_meet": MeetClient,
    "ms_teams": TeamsClient,
    "zoom": ZoomClient,
    "webex": WebexClient,
}


def conferencing_client(
    provider: str,
    credentials: dict[str, Any],
    *,
    on_credentials_changed: Callable[[dict[str, Any]], None] | None = None,
) -> ConferencingClient:
    """A client for one provider, acting with these credentials; refreshed tokens go to the callback."""
    return CLIENTS[provider](credentials, on_credentials_changed=on_credentials_changed)


#
# A person linking their own account (Zoom, Webex)
#


@dataclass(frozen=True)
class PersonalGrant:
    account: ConferencingUser
    credentials: dict[str, Any]
    scopes: list[str]


def _zoom_personal(code: str, redirect_uri: str) -> PersonalGrant:
    credentials = zoom.exchange_code(code=code, redirect_uri=redirect_uri)
    client = ZoomClient(credentials)
    account = client.me()
    return PersonalGrant(account=account, credentials=credentials, scopes=credentials.get("scope", "").split())


def _webex_personal(code: str, redirect_uri: str) -> PersonalGrant:
    scopes = provider_scopes(Flow.CONFERENCING_PERSONAL, provider="webex", product="webex")
    credentials = webex.exchange_code(code=code, redirect_uri=redirect_uri, scopes=scopes, for_organization=False)
    return PersonalGrant(account=WebexClient(credentials).me(), credentials=credentials, scopes=scopes)


def _webex_authorize_url(*, redirect_uri: str, state: str) -> str:
    scopes = provider_scopes(Flow.CONFERENCING_PERSONAL, provider="webex", product="webex")
    return webex.authorize_url(redirect_uri=redirect_uri, scopes=scopes, state=state)


PERSONAL_AUTHORIZE_URLS: dict[str, Callable[..., str]] = {"zoom": zoom.authorize_url, "webex": _webex_authorize_url}


def personal_authorize_url(provider: str, *, redirect_uri: str, state: str) -> str:
    """Where a person's browser goes to let our app make meetings with their own account."""
    return PERSONAL_AUTHORIZE_URLS[provider](redirect_uri=redirect_uri, state=state)


PERSONAL_GRANTS: dict[str, Callable[[str, str], PersonalGrant]] = {"zoom": _zoom_personal, "webex": _webex_personal}


def personal_grant(provider: str, *, code: str, redirect_uri: str) -> PersonalGrant:
    """The person's account and credentials for the code the provider sent back."""
    return PERSONAL_GRANTS[provider](code, redirect_uri)
