"""The registry of directory clients, keyed by provider: each builds its client from what a directory
service stores (credentials encrypted at rest, the acting administrator or API user, the API server)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

from calendars.providers import OrganizationGrant
from calendars.scopes import Flow, requested_scopes
from directory.models import DirectoryProvider, DirectoryService
from directory.providers.base import DirectoryClient
from directory.providers.google import GoogleDirectoryClient
from directory.providers.microsoft import MicrosoftDirectoryClient
from directory.providers.successfactors import SuccessFactorsDirectoryClient


class NotAuthorized(ValueError):
    """The service holds no usable authorization yet."""


def directory_scopes(provider: str) -> list[str]:
    """What the directory asks the provider for: the scope registry's directory rows."""
    return requested_scopes(Flow.DIRECTORY_SYNC, provider=provider)


def _google(service: DirectoryService) -> DirectoryClient:
    return GoogleDirectoryClient(
        service.credentials["key"],
        admin_email=service.acting_user,
        scopes=directory_scopes(DirectoryProvider.GOOGLE),
        page_size=settings.DIRECTORY_PAGE_SIZE,
    )


def _microsoft(service: DirectoryService) -> DirectoryClient:
    return MicrosoftDirectoryClient(
        tenant_id=service.credentials.get("tenant_id") or service.external_id,
        client_id=settings.MICROSOFT_DIRECTORY_CLIENT_ID,
        client_secret=settings.MICROSOFT_DIRECTORY_CLIENT_SECRET,
        required=directory_scopes(DirectoryProvider.MICROSOFT),
        page_size=settings.DIRECTORY_PAGE_SIZE,
    )


def _successfactors(service: DirectoryService) -> DirectoryClient:
    credentials = service.credentials
    return SuccessFactorsDirectoryClient(
        api_url=service.api_url,
        company_id=service.external_id,
        client_id=credentials["client_id"],
        user_id=service.acting_user,
        private_key_pem=credentials["private_key"],
        certificate_pem=credentials["certificate"],
        page_size=settings.DIRECTORY_PAGE_SIZE,
    )


# How an organization authorizes its directory at each provider: the kind of credentials it keeps.
GRANTS: dict[str, OrganizationGrant] = {
    DirectoryProvider.GOOGLE: OrganizationGrant.SERVICE_ACCOUNT_KEY,
    DirectoryProvider.MICROSOFT: OrganizationGrant.ADMIN_CONSENT,
    DirectoryProvider.SUCCESSFACTORS: OrganizationGrant.SAML_CLIENT,
}

CLIENTS: dict[str, Callable[[DirectoryService], DirectoryClient]] = {
    DirectoryProvider.GOOGLE: _google,
    DirectoryProvider.MICROSOFT: _microsoft,
    DirectoryProvider.SUCCESSFACTORS: _successfactors,
}


def directory_client_for(service: DirectoryService) -> DirectoryClient:
    if not service.credentials:
        raise NotAuthorized("This directory service has not been authorized at its provider yet.")
    return CLIENTS[service.provider](service)
