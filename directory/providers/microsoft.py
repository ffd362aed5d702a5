"""Microsoft Entra ID's directory through Microsoft Graph: `users/delta` (a full first round, then only
what changed), `organization` for the verified domains and `places/microsoft.graph.room` for rooms,
with an app-only token from MSAL after the tenant administrator's consent."""

from __future__ import annotations

from typing import Any

import jwt
import requests

from calendars.providers import endpoints
from calendars.providers.base import (
    ProviderAuthError,
    ProviderError,
    ProviderNotFound,
    ProviderPermissionError,
    SyncCursorExpired,
)
from calendars.providers.http import ProviderSession
from calendars.providers.microsoft import GRAPH_DEFAULT_SCOPE, acquire_token, msal_application
from calendars.providers.retry import retry_after_seconds, with_retries
from directory.providers.base import DirectoryPerson, DirectoryRoom, PeopleListing, PersonStatus, ProgressCallback

USER_FIELDS = "id,displayName,mail,userPrincipalName,accountEnabled,department"
ROOMS_PAGE = 100


class MicrosoftDirectoryClient:
    """A tenant's users, verified domains and rooms, read with the directory app registration's
    application permissions (User.Read.All, Organization.Read.All, Place.Read.All)."""

    def __init__(
        self, *, tenant_id: str, client_id: str, client_secret: str, required: list[str], page_size: int
    ) -> None:
        self._tenant = tenant_id
        self._client_id, self._secret = client_id, client_secret
        self._required = required
        self._page_size = page_size
        self._msal = msal_application(client_id, client_secret, tenant_id)
        self._http = ProviderSession()
        self._token: str | None = None

    def _access_token(self, *, force: bool = False) -> str:
        if self._token is None or force:
            self._token = acquire_token(
                self._msal, lambda: self._msal.acquire_token_for_client(scopes=[GRAPH_DEFAULT_SCOPE])
            )
        return self._token

    def _get(self, path_or_url: str, *, params: dict[str, Any] | None = None, headers: dict | None = None) -> dict:
        url = path_or_url if path_or_url.startswith("http") else f"{endpoints.microsoft_graph_url()}/v1.0/{path_or_url}"

        def attempt() -> dict[str, Any]:
            for retry_auth in (False, True):
                try:
                    response = self._http.get(
                        url,
                        params=params,
                        headers={"Authorization": f"Bearer {self._access_token(force=retry_auth)}", **(headers or {})},
                    )
                except requests.RequestException as error:
                    raise ProviderError(
                        f"Microsoft Graph unreachable: {type(error).__name__}", retryable=True
                    ) from None
                if response.status_code == 401 and not retry_auth:
                    continue
                break
            if response.status_code >= 400:
                raise self._translate(response)
            return response.json()

        return with_retries(attempt)

    @staticmethod
    def _translate(response: requests.Response) -> ProviderError:
        status = response.status_code
        try:
            code = response.json().get("error", {}).get("code", "")
        except ValueError:
            code = ""
        message = f"Microsoft Graph answered {status} {code}".strip()
        if code == "syncStateNotFound" or status == 410:
            # Directory delta links live seven days; then the round starts over from a full listing.
            return SyncCursorExpired(message)
        if status == 401:
            return ProviderAuthError(message, status=status)
        if status == 403:
            return ProviderPermissionError(message, status=status)
        if status == 404:
            return ProviderNotFound(message, status=status)
        if status in (429, 500, 502, 503, 504):
            return ProviderError(
                message,
                retryable=True,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                status=status,
            )
        return ProviderError(message, retryable=False, status=status)

    def verified_domains(self) -> list[str]:
        organizations = self._get("organization").get("value", [])
        return sorted(
            {
                domain["name"].lower()
                for org in organizations
                for domain in org.get("verifiedDomains", [])
                if domain.get("name")
            }
        )

    @staticmethod
    def _person(item: dict[str, Any]) -> DirectoryPerson:
        if "@removed" in item:
            return DirectoryPerson(external_id=item["id"], email="", name="", status=PersonStatus.DELETED)
        email = (item.get("mail") or item.get("userPrincipalName") or "").lower()
        return DirectoryPerson(
            external_id=item["id"],
            email=email,
            name=item.get("displayName") or "",
            status=PersonStatus.ACTIVE if item.get("accountEnabled", True) else PersonStatus.SUSPENDED,
            unit=item.get("department") or "",
        )

    def people(self, *, cursor: str | None, progress: ProgressCallback | None = None) -> PeopleListing:
        """Without a cursor, `users/delta` lists everyone and ends with a delta link; with the delta link
        it lists what changed (deleted users as `@removed`)."""
        headers = {"Prefer": f"odata.maxpagesize={self._page_size}"}
        pages: list[list[DirectoryPerson]] = []
        response = (
            self._get(cursor, headers=headers)
            if cursor
            else self._get("users/delta", params={"$select": USER_FIELDS}, headers=headers)
        )
        while True:
            pages.append([self._person(item) for item in response.get("value", [])])
            if progress is not None:
                progress(sum(len(page) for page in pages))
            if response.get("@odata.nextLink"):
                response = self._get(response["@odata.nextLink"], headers=headers)
                continue
            return PeopleListing(pages=pages, full=cursor is None, cursor=response.get("@odata.deltaLink", ""))

    def rooms(self) -> list[DirectoryRoom]:
        found = []
        response = self._get("places/microsoft.graph.room", params={"$top": ROOMS_PAGE})
        while True:
            for item in response.get("value", []):
                if not item.get("emailAddress"):
                    continue
                capacity = item.get("capacity")
                found.append(
                    DirectoryRoom(
                        external_id=item["id"],
                        email=item["emailAddress"].lower(),
                        name=item.get("displayName") or item["emailAddress"],
                        capacity=int(capacity) if str(capacity or "").isdigit() else None,
                        building=item.get("building") or "",
                        floor=item.get("floorLabel") or str(item.get("floorNumber") or ""),
                    )
                )
            if not response.get("@odata.nextLink"):
                return found
            response = self._get(response["@odata.nextLink"])

    def granted_permissions(self) -> list[str]:
        """The application permissions the tenant's admin consented to, read from an app-only token."""
        token = self._access_token(force=True)
        try:
            return list(jwt.decode(token, options={"verify_signature": False}).get("roles") or [])
        except jwt.PyJWTError:
            raise ProviderError("Microsoft returned an access token that is not a JWT.", retryable=False) from None

    def missing_permissions(self) -> list[str]:
        roles = set(self.granted_permissions())
        return [permission for permission in self._required if permission not in roles]
