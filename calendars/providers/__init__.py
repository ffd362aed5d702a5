"""Clients for the calendar providers: a leaf that knows the providers and their app registrations,
and nothing of our models (calendars/clients.py builds clients from what a profile or service stores).

What differs between the providers beyond their clients' shared interface (`base.py`) is a field of
their `ProviderTraits` here, looked up by provider: code elsewhere never compares providers itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings

from calendars.choices import CalendarProvider
from core.choices import AccessMode


class OrganizationGrant(StrEnum):
    """How an organization's service authorizes at its provider: the `kind` its stored credentials carry."""

    SERVICE_ACCOUNT_KEY = "google_service_account"  # a Google service account with domain-wide delegation
    ADMIN_CONSENT = "microsoft_app"  # a Microsoft tenant admin's consent to our app registration (app-only)
    SAML_CLIENT = "successfactors_saml"  # a SuccessFactors OAuth client signing SAML assertions


@dataclass(frozen=True, slots=True)
class ProviderTraits:
    """One calendar provider's differences, as data."""

    organization_grant: OrganizationGrant
    # The console's button that authorizes an organization's service, before and after it is active.
    authorize_label: str
    reauthorize_label: str
    # Scopes the admin's own sign-in carries during an organization's consent: not application
    # permissions, so never in an app-only token and never required of one.
    organization_sign_in_scopes: frozenset[str]
    # The name of our URL the provider pushes change notifications to.
    push_url_name: str
    # Google watches each calendar on its own; a Graph subscription covers the whole mailbox.
    watches_each_calendar: bool


PROVIDERS: dict[str, ProviderTraits] = {
    CalendarProvider.GOOGLE: ProviderTraits(
        organization_grant=OrganizationGrant.SERVICE_ACCOUNT_KEY,
        authorize_label="Upload the service account key",
        reauthorize_label="Replace the key",
        organization_sign_in_scopes=frozenset(),
        push_url_name="push-google",
        watches_each_calendar=True,
    ),
    CalendarProvider.MICROSOFT: ProviderTraits(
        organization_grant=OrganizationGrant.ADMIN_CONSENT,
        authorize_label="Grant admin consent in Microsoft 365",
        reauthorize_label="Grant admin consent again",
        organization_sign_in_scopes=frozenset({"openid", "email", "profile", "offline_access"}),
        push_url_name="push-microsoft",
        watches_each_calendar=False,
    ),
}


def provider_traits(provider: str) -> ProviderTraits:
    return PROVIDERS[provider]


# The settings naming each mode's Microsoft app registration: Free/Busy has its own, least-privileged one.
_MICROSOFT_APP_SETTINGS: dict[str, tuple[str, str]] = {
    AccessMode.READ_WRITE: ("MICROSOFT_CLIENT_ID", "MICROSOFT_CLIENT_SECRET"),
    AccessMode.FREE_BUSY: ("MICROSOFT_FREE_BUSY_CLIENT_ID", "MICROSOFT_FREE_BUSY_CLIENT_SECRET"),
}


def microsoft_app(access_mode: str) -> tuple[str, str]:
    """The app registration (client id, secret) of a mode: Free/Busy has its own, least-privileged one."""
    client_id, secret = _MICROSOFT_APP_SETTINGS.get(access_mode, _MICROSOFT_APP_SETTINGS[AccessMode.READ_WRITE])
    return getattr(settings, client_id), getattr(settings, secret)


def microsoft_app_by_id(client_id: str) -> tuple[str, str]:
    """A delegated grant is bound to the app registration that obtained it."""
    for app_id, secret in (
        (settings.MICROSOFT_CLIENT_ID, settings.MICROSOFT_CLIENT_SECRET),
        (settings.MICROSOFT_FREE_BUSY_CLIENT_ID, settings.MICROSOFT_FREE_BUSY_CLIENT_SECRET),
    ):
        if app_id == client_id:
            return app_id, secret
    raise ValueError("The profile's grant belongs to an app registration this installation does not have.")
