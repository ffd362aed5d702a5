"""Google Meet: the Meet REST API v2 through google-api-python-client (static discovery), as the
organization's service account acting for the organizer by domain-wide delegation.

A Meet space has no time and cannot be deleted: moving an event changes nothing at Google, and
deleting one restricts the space to invitees and ends any conference running in it. `spaces.create`
has no idempotency key, so a create whose answer was lost leaves an unused space behind, never a
second link on an event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import google.auth.exceptions
import httplib2
from django.conf import settings
from google.auth.transport.requests import Request
from google.oauth2 import service_account
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.errors import HttpError

from calendars.providers import endpoints
from calendars.providers.base import ProviderAuthError, ProviderError, ProviderPermissionError
from calendars.providers.google import _translate, google_api_resource, service_account_credentials
from calendars.providers.http import ProviderSession
from calendars.providers.retry import with_retries
from calendars.scopes import Flow, requested_scopes
from conferencing.providers.base import ConferencingUser, MeetingSpec, ProviderMeeting

INVALID_SUBJECT = "Invalid email or User ID"


def meet_scopes() -> list[str]:
    return requested_scopes(Flow.CONFERENCING, provider="google", product="google_meet")


class MeetClient:
    provider_description = "Google Meet"

    def __init__(self, credentials: dict[str, Any], **_: Any) -> None:
        if credentials.get("kind") != "google_service_account":
            raise ValueError("Meet is reached through a service account with domain-wide delegation.")
        self._key = credentials["key"]
        self._scopes = list(credentials.get("scopes") or meet_scopes())

    def _credentials(self, subject: str) -> service_account.Credentials:
        return service_account_credentials(self._key, scopes=self._scopes, subject=subject)

    def _spaces(self, subject: str) -> tuple[Any, AuthorizedHttp]:
        """Meet's `spaces` (shared by the process) and the http that acts as `subject`."""
        http = AuthorizedHttp(self._credentials(subject), http=httplib2.Http(timeout=settings.PROVIDER_HTTP_TIMEOUT))
        return google_api_resource("meet", "v2", endpoints.url("GOOGLE_MEET_API_URL"), "spaces"), http

    def _execute(self, make_request: Callable[[], Any], *, http: AuthorizedHttp, idempotent: bool = True) -> Any:
        unknown: list[ProviderError] = []

        def attempt() -> Any:
            try:
                return make_request().execute(http=http, num_retries=0)
            except HttpError as error:
                raise _translate(error) from None
            except google.auth.exceptions.RefreshError as error:
                if getattr(error, "retryable", False):
                    raise ProviderError("Google's token endpoint is unavailable.", retryable=True) from None
                raise ProviderAuthError(
                    f"Google refused the delegation: {error.args[0] if error.args else ''}"
                ) from None
            except (httplib2.HttpLib2Error, OSError) as error:
                failure = ProviderError(f"Google Meet unreachable: {type(error).__name__}", retryable=True)
                if idempotent:
                    raise failure from None
                # No answer to a create: it may have been made. Not repeated here; retryable later.
                unknown.append(failure)
                raise ProviderError(str(failure), retryable=False) from None

        try:
            return with_retries(attempt)
        except ProviderError:
            if unknown:
                raise unknown[0] from None
            raise

    def granted_scopes(self) -> list[str]:
        return list(self._scopes)

    def find_users(self, emails: list[str]) -> dict[str, ConferencingUser]:
        """Workspace users are those the service account may act for: Google refuses a token for an
        address that is not a user of a delegating Workspace."""
        found = {}
        for email in emails:
            if self._is_user(email.lower()):
                found[email.lower()] = ConferencingUser(user_id=email.lower(), email=email.lower())
        return found

    def _is_user(self, email: str) -> bool:
        def attempt() -> bool:
            try:
                self._credentials(email).refresh(Request(session=ProviderSession()))
            except google.auth.exceptions.RefreshError as error:
                if getattr(error, "retryable", False):
                    raise ProviderError("Google's token endpoint is unavailable.", retryable=True) from None
                if INVALID_SUBJECT in str(error):
                    return False
                raise ProviderPermissionError(
                    "Google refused the service account for this Workspace: the Workspace admin has not delegated "
                    "the Meet scopes to it (Security, API controls, Domain-wide delegation)."
                ) from None
            except google.auth.exceptions.TransportError:
                raise ProviderError("Google's token endpoint cannot be reached.", retryable=True) from None
            return True

        return with_retries(attempt)

    def create_meeting(self, host: ConferencingUser, spec: MeetingSpec) -> ProviderMeeting:
        spaces, http = self._spaces(host.email)
        body = self._execute(
            lambda: spaces.create(body={"config": {"accessType": "TRUSTED"}}), http=http, idempotent=False
        )
        return _meeting(body)

    def update_meeting(self, host: ConferencingUser, meeting_id: str, spec: MeetingSpec) -> ProviderMeeting | None:
        return None  # a space has no time or title: nothing at Google follows the event

    def delete_meeting(self, host: ConferencingUser, meeting_id: str) -> None:
        spaces, http = self._spaces(host.email)
        body = self._execute(
            lambda: spaces.patch(
                name=meeting_id, updateMask="config.accessType", body={"config": {"accessType": "RESTRICTED"}}
            ),
            http=http,
        )
        if body.get("activeConference"):
            self._execute(lambda: spaces.endActiveConference(name=meeting_id, body={}), http=http)

    def find_meeting(self, host: ConferencingUser, spec: MeetingSpec) -> ProviderMeeting | None:
        return None


def _meeting(body: dict[str, Any]) -> ProviderMeeting:
    return ProviderMeeting(
        meeting_id=body["name"], join_url=body.get("meetingUri", ""), provider_description="Google Meet"
    )
