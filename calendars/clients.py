"""Provider clients built from what we store: an organization service's grant acting for one of its
people, or a person's own grant whose refreshed tokens are stored back, encrypted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings

from calendars.choices import CalendarProvider
from calendars.models import CalendarProfile, CalendarService
from calendars.providers import microsoft_app, microsoft_app_by_id
from calendars.providers.base import CalendarProvider as ProviderClient
from calendars.providers.google import GoogleCalendarClient, revoke_user_grant
from calendars.providers.microsoft import MicrosoftCalendarClient


def _google_for_service(service: CalendarService, mailbox: str, include_details: bool) -> ProviderClient:
    return GoogleCalendarClient(
        service.credentials, subject=mailbox, scopes=service.granted_scopes or None, include_details=include_details
    )


def _microsoft_for_service(service: CalendarService, mailbox: str, include_details: bool) -> ProviderClient:
    client_id, secret = microsoft_app(service.access_mode)
    return MicrosoftCalendarClient(
        service.credentials, mailbox=mailbox, include_details=include_details, client_id=client_id, client_secret=secret
    )


def _google_for_profile(
    credentials: dict[str, Any], store: Callable[[dict[str, Any]], None], include_details: bool
) -> ProviderClient:
    return GoogleCalendarClient(credentials, on_credentials_changed=store, include_details=include_details)


def _microsoft_for_profile(
    credentials: dict[str, Any], store: Callable[[dict[str, Any]], None], include_details: bool
) -> ProviderClient:
    client_id, secret = microsoft_app_by_id(credentials.get("client_id") or settings.MICROSOFT_CLIENT_ID)
    return MicrosoftCalendarClient(
        credentials,
        on_credentials_changed=store,
        include_details=include_details,
        client_id=client_id,
        client_secret=secret,
    )


# The registries of client builders, keyed by provider: an organization's grant acting for a mailbox,
# and a person's own grant that stores its refreshed tokens back.
SERVICE_CLIENTS: dict[str, Callable[[CalendarService, str, bool], ProviderClient]] = {
    CalendarProvider.GOOGLE: _google_for_service,
    CalendarProvider.MICROSOFT: _microsoft_for_service,
}
PROFILE_CLIENTS: dict[str, Callable[[dict[str, Any], Callable[[dict[str, Any]], None], bool], ProviderClient]] = {
    CalendarProvider.GOOGLE: _google_for_profile,
    CalendarProvider.MICROSOFT: _microsoft_for_profile,
}


def calendar_client_for_service(
    service: CalendarService, *, mailbox: str, include_details: bool = False
) -> ProviderClient:
    """The organization's own grant, acting for one of its people."""
    if not service.policy.needs_provider_authorization or not service.credentials:
        raise ValueError("This calendar service has no provider authorization.")
    return SERVICE_CLIENTS[service.provider](service, mailbox, include_details)


def calendar_client_for_profile(profile: CalendarProfile, *, include_details: bool = False) -> ProviderClient:
    """A client for the profile's calendars; refreshed tokens are stored back, encrypted."""
    service = profile.calendar_service  # None, without a query, for a person's own grant
    if service is not None:
        return calendar_client_for_service(service, mailbox=profile.profile_name, include_details=include_details)
    if profile.platform is None or not profile.credentials:
        raise ValueError("This profile has no provider credentials (No Access, or disconnected).")

    def store(credentials: dict) -> None:
        # Routine token refreshes: kept (encrypted on save), not audited.
        profile.credentials = credentials
        profile.save(update_fields=["credentials", "updated_at"])

    return PROFILE_CLIENTS[profile.platform](profile.credentials, store, include_details)


# How a person's own grant is revoked at each provider. Microsoft has no endpoint a client can call to
# revoke a delegated grant: dropping its refresh token (we keep no other copy) ends our access.
GRANT_REVOKERS: dict[str, Callable[[dict[str, Any]], None]] = {CalendarProvider.GOOGLE: revoke_user_grant}
