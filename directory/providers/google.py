"""Google Workspace's directory: the Admin SDK Directory API through google-api-python-client (static
discovery) and google-auth, by domain-wide delegation acting as a named administrator of the customer
(the Directory API answers only to administrators)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import google.auth.exceptions
import httplib2
from django.conf import settings
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from calendars.providers import endpoints
from calendars.providers.base import (
    ProviderAuthError,
    ProviderError,
    ProviderNotFound,
    ProviderPermissionError,
)
from calendars.providers.google import delegation_missing_scopes, service_account_credentials
from calendars.providers.retry import retry_after_seconds, with_retries
from directory.providers.base import DirectoryPerson, DirectoryRoom, PeopleListing, PersonStatus, ProgressCallback

CUSTOMER = "my_customer"  # the customer of the acting administrator
MAX_USERS_PAGE = 500
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}


def _translate(error: HttpError) -> ProviderError:
    status = error.resp.status
    try:
        reason = (json.loads(error.content or b"{}").get("error", {}).get("errors") or [{}])[0].get("reason", "")
    except (ValueError, AttributeError):
        reason = ""
    message = f"Google's Directory API answered {status} {reason}".strip()
    retry_after = retry_after_seconds(error.resp.get("retry-after"))
    if status == 401:
        return ProviderAuthError(message, status=status)
    if status == 403 and reason in RATE_REASONS:
        return ProviderError(message, retryable=True, retry_after=retry_after, status=status)
    if status == 403:
        return ProviderPermissionError(message, status=status)
    if status == 404:
        return ProviderNotFound(message, status=status)
    if status in (408, 429, 500, 502, 503, 504):
        return ProviderError(message, retryable=True, retry_after=retry_after, status=status)
    return ProviderError(message, retryable=False, status=status)


class GoogleDirectoryClient:
    """A Workspace customer's users, domains and calendar resources, read as `admin_email` through the
    service account's domain-wide delegation of `scopes`."""

    def __init__(self, key: dict[str, Any], *, admin_email: str, scopes: list[str], page_size: int) -> None:
        self._key = key
        self._admin = admin_email
        self._scopes = scopes
        self._page_size = max(1, min(page_size, MAX_USERS_PAGE))
        auth = service_account_credentials(key, scopes=scopes, subject=admin_email)
        http = AuthorizedHttp(auth, http=httplib2.Http(timeout=settings.PROVIDER_HTTP_TIMEOUT))
        self._service = build(
            "admin",
            "directory_v1",
            http=http,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": endpoints.url("GOOGLE_ADMIN_API_URL")},
        )

    def _execute(self, make_request: Callable[[], Any]) -> Any:
        def attempt() -> Any:
            try:
                return make_request().execute(num_retries=0)
            except HttpError as error:
                raise _translate(error) from None
            except google.auth.exceptions.RefreshError as error:
                if getattr(error, "retryable", False):
                    raise ProviderError("Google's token endpoint is unavailable.", retryable=True) from None
                raise ProviderAuthError(
                    "Google refused the service account's delegation (key revoked, scopes or administrator changed)."
                ) from None
            except (httplib2.HttpLib2Error, OSError) as error:
                raise ProviderError(
                    f"Google's Directory API unreachable: {type(error).__name__}", retryable=True
                ) from None

        return with_retries(attempt)

    def verified_domains(self) -> list[str]:
        response = self._execute(lambda: self._service.domains().list(customer=CUSTOMER))
        found = []
        for domain in response.get("domains", []):
            if domain.get("verified"):
                found.append(domain["domainName"].lower())
            found += [
                alias["domainAliasName"].lower() for alias in domain.get("domainAliases", []) if alias.get("verified")
            ]
        return sorted(set(found))

    def _list_users(
        self, *, deleted: bool, pages: list[list[DirectoryPerson]], progress: ProgressCallback | None
    ) -> None:
        token: str | None = None
        while True:

            def users_page(token: str | None = token) -> Any:
                return self._service.users().list(
                    customer=CUSTOMER,
                    maxResults=self._page_size,
                    pageToken=token,
                    showDeleted="true" if deleted else "false",
                    orderBy="email",
                    projection="basic",
                )

            response = self._execute(users_page)
            pages.append([self._person(item, deleted=deleted) for item in response.get("users", [])])
            if progress is not None:
                progress(sum(len(page) for page in pages))
            token = response.get("nextPageToken")
            if not token:
                return

    @staticmethod
    def _person(item: dict[str, Any], *, deleted: bool) -> DirectoryPerson:
        if deleted:
            status = PersonStatus.DELETED
        elif item.get("suspended") or item.get("archived"):
            status = PersonStatus.SUSPENDED
        else:
            status = PersonStatus.ACTIVE
        manager = next((r.get("value", "") for r in item.get("relations", []) if r.get("type") == "manager"), "")
        return DirectoryPerson(
            external_id=str(item["id"]),
            email=item["primaryEmail"].lower(),
            name=(item.get("name") or {}).get("fullName", ""),
            status=status,
            unit=item.get("orgUnitPath", "/"),
            manager_id=manager,
        )

    def people(self, *, cursor: str | None, progress: ProgressCallback | None = None) -> PeopleListing:
        """Google has no change feed for users that outlives a push channel: every round is a full
        listing (then the deleted users, which Google lists for 20 days), compared with what we know."""
        pages: list[list[DirectoryPerson]] = []
        self._list_users(deleted=False, pages=pages, progress=progress)
        self._list_users(deleted=True, pages=pages, progress=progress)
        return PeopleListing(pages=pages, full=True, cursor="")

    def rooms(self) -> list[DirectoryRoom]:
        found: list[DirectoryRoom] = []
        token: str | None = None
        while True:

            def rooms_page(token: str | None = token) -> Any:
                return (
                    self._service.resources()
                    .calendars()
                    .list(customer=CUSTOMER, maxResults=MAX_USERS_PAGE, pageToken=token)
                )

            response = self._execute(rooms_page)
            for item in response.get("items", []):
                if not item.get("resourceEmail"):
                    continue
                found.append(
                    DirectoryRoom(
                        external_id=str(item["resourceId"]),
                        email=item["resourceEmail"].lower(),
                        name=item.get("resourceName", item["resourceEmail"]),
                        capacity=item.get("capacity"),
                        building=item.get("buildingId", ""),
                        floor=item.get("floorName", ""),
                    )
                )
            token = response.get("nextPageToken")
            if not token:
                return found

    def missing_permissions(self) -> list[str]:
        missing = delegation_missing_scopes(self._key, subject=self._admin, scopes=self._scopes)
        if missing:
            return missing
        try:
            self._execute(lambda: self._service.domains().list(customer=CUSTOMER))
        except ProviderPermissionError:
            return [f"{self._admin} is not an administrator of the Workspace (the Directory API answers only to one)"]
        return []
