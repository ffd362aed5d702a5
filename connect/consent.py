"""The consent flow behind Cronofy's `/oauth/authorize`: which application asked for what, which
provider and access mode the person picks, and the profile their consent produces.

A flow lives in the person's session, keyed by a random id, until it ends in a code or a refusal.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django_q.tasks import async_task

from accounts import api_scopes
from accounts.models import Application, User
from accounts.oauth import OAuthError, redirect_uri_allowed
from calendars.choices import CalendarProvider, ProfileProviderName, profile_provider_name
from calendars.models import CalendarProfile
from calendars.scopes import Flow, requested_scopes
from calendars.services import calendar_profile_connect
from core.choices import AccessMode

SESSION_PREFIX = "consent:"
PENDING_KEY = "consent:pending"
LIFETIME_SECONDS = 3600

# provider_name as integrators send it -> (calendar platform, access mode it forces or None)
PROVIDER_NAMES: dict[str, tuple[str | None, str | None]] = {
    "google": (CalendarProvider.GOOGLE, None),
    "google_free_busy": (CalendarProvider.GOOGLE, AccessMode.FREE_BUSY),
    "office365": (CalendarProvider.MICROSOFT, None),
    "exchange": (CalendarProvider.MICROSOFT, None),
    "ms_graph_free_busy": (CalendarProvider.MICROSOFT, AccessMode.FREE_BUSY),
    "cronofy": (None, AccessMode.NO_ACCESS),
}
ALLAUTH_PROVIDER = {CalendarProvider.GOOGLE: "google", CalendarProvider.MICROSOFT: "microsoft"}


class ConsentRefused(Exception):
    """The flow cannot go on; the integrator gets `error` (and the person is sent back to it)."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(description or error)
        self.error = error
        self.description = description


@dataclass
class ConsentRequest:
    id: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    state: str
    provider_name: str
    avoid_linking: bool
    platform: str | None = None
    access_mode: str | None = None
    provider_chosen: bool = False
    profile_id: int | None = None
    provider_scopes: list[str] | None = None
    failure: str = ""
    verification_sent: bool = False
    created_at: float = 0.0

    @property
    def forced_mode(self) -> str | None:
        return PROVIDER_NAMES.get(self.provider_name, (None, None))[1]

    @property
    def offers_mode_choice(self) -> bool:
        return api_scopes.FREE_BUSY_WRITE in self.scopes and self.forced_mode is None

    def redirect(self, params: dict[str, str]) -> str:
        if self.state:
            params = {**params, "state": self.state}
        separator = "&" if "?" in self.redirect_uri else "?"
        return f"{self.redirect_uri}{separator}{urlencode(params)}"


def application_of(consent: ConsentRequest) -> Application:
    return Application.objects.select_related("client").get(client_id=consent.client_id)


def consent_begin(
    request: HttpRequest, params: dict[str, str]
) -> tuple[ConsentRequest | None, OAuthError | None, ConsentRequest | None]:
    """Check an authorization request. Returns (consent, error to show here, consent to refuse).

    An unknown client or redirect URI is shown to the person and never redirected to (RFC 6749
    4.1.2.1); other problems are sent back to the integrator as `error=...`.
    """
    application = Application.objects.select_related("client").filter(client_id=params.get("client_id", "")).first()
    if application is None:
        return None, OAuthError("invalid_client", "This application is not registered."), None
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri_allowed(application, redirect_uri):
        return None, OAuthError("invalid_request", "The redirect_uri is not registered for this application."), None
    consent = ConsentRequest(
        id=secrets.token_urlsafe(12),
        client_id=application.client_id,
        redirect_uri=redirect_uri,
        scopes=[],
        state=params.get("state", ""),
        provider_name=params.get("provider_name", ""),
        avoid_linking=params.get("avoid_linking", "").lower() in ("true", "1"),
        created_at=time.time(),
    )
    if params.get("response_type") != "code":
        return None, None, _refused(consent, "unsupported_response_type")
    try:
        consent.scopes = api_scopes.parse(params.get("scope", ""))
    except api_scopes.UnknownScope as error:
        return None, None, _refused(consent, "invalid_scope", str(error))
    if not consent.scopes:
        return None, None, _refused(consent, "invalid_scope", "No scope was requested.")
    if consent.provider_name and consent.provider_name not in PROVIDER_NAMES:
        return None, None, _refused(consent, "invalid_request", f"Unsupported provider_name {consent.provider_name}.")
    platform, forced = PROVIDER_NAMES.get(consent.provider_name, (None, None))
    if forced is not None and not application.offers(forced):
        return None, None, _refused(consent, "invalid_request", f"This application does not offer {forced}.")
    if forced is None and not (application.offers(AccessMode.READ_WRITE) or application.offers(AccessMode.FREE_BUSY)):
        return None, None, _refused(consent, "invalid_request", "This application offers no calendar access mode.")
    consent.platform = platform
    consent.provider_chosen = bool(consent.provider_name)
    consent.access_mode = forced
    consent_save(request, consent)
    return consent, None, None


def _refused(consent: ConsentRequest, error: str, description: str = "") -> ConsentRequest:
    consent.failure = error if not description else f"{error}:{description}"
    return consent


def consent_save(request: HttpRequest, consent: ConsentRequest) -> None:
    request.session[SESSION_PREFIX + consent.id] = asdict(consent)
    request.session[PENDING_KEY] = consent.id


def consent_load(request: HttpRequest, consent_id: str) -> ConsentRequest | None:
    data = request.session.get(SESSION_PREFIX + consent_id)
    if not data or time.time() - data.get("created_at", 0) > LIFETIME_SECONDS:
        return None
    return ConsentRequest(**data)


def consent_end(request: HttpRequest, consent: ConsentRequest) -> None:
    request.session.pop(SESSION_PREFIX + consent.id, None)
    if request.session.get(PENDING_KEY) == consent.id:
        request.session.pop(PENDING_KEY, None)


def pending_consent(request: HttpRequest) -> ConsentRequest | None:
    consent_id = request.session.get(PENDING_KEY)
    return consent_load(request, consent_id) if consent_id else None


def mode_choices(consent: ConsentRequest, application: Application) -> list[str]:
    """The modes the person may pick on the review page (one when there is nothing to choose).

    Without free_busy_write the mode is not offered at all: Read-Write, as before access modes existed
    (Free/Busy only for an application that offers nothing else).
    """
    if consent.forced_mode:
        return [consent.forced_mode]
    offered = [mode for mode in (AccessMode.READ_WRITE, AccessMode.FREE_BUSY) if application.offers(mode)]
    return offered if consent.offers_mode_choice else offered[:1]


def provider_scopes(platform: str, access_mode: str) -> list[str]:
    """What the provider is asked for: exactly the registry's individual-consent scopes of the mode."""
    return requested_scopes(Flow.INDIVIDUAL_CONSENT, provider=platform, access_mode=access_mode)


#
# The profile a provider consent produces
#


@transaction.atomic
def consent_profile_from_provider(
    *,
    request: HttpRequest,
    consent: ConsentRequest,
    user: User,
    provider: str,
    uid: str,
    email: str,
    extra_data: dict[str, Any],
    access_token: str,
    refresh_token: str,
    expires_at: str | None,
    granted_scopes: list[str],
) -> CalendarProfile:
    """Keep the provider's grant as a profile: tokens encrypted in our credentials, the scopes the
    provider reported as granted, calendars listed by the first sync."""
    platform = CalendarProvider.GOOGLE if provider == "google" else CalendarProvider.MICROSOFT
    access_mode = consent.access_mode or AccessMode.READ_WRITE
    if platform == CalendarProvider.GOOGLE:
        credentials = {
            "kind": "google_user",
            "access_token": access_token,
            "refresh_token": refresh_token,
            "expires_at": expires_at,
            "scopes": granted_scopes,
        }
        service = "gsuite" if extra_data.get("hd") else "google"
    else:
        credentials = {
            "kind": "microsoft_delegated",
            "access_token": access_token,
            "refresh_token": refresh_token,
            "expires_at": expires_at,
            "scopes": granted_scopes,
            "tenant_id": "organizations",
            "client_id": settings.MICROSOFT_CLIENT_ID,
        }
        service = "office365"
    provider_name = profile_provider_name(platform=platform, access_mode=access_mode)
    if access_mode == AccessMode.FREE_BUSY:
        service = provider_name
    profile = calendar_profile_connect(
        user=user,
        provider_name=provider_name,
        profile_name=email,
        provider_account_id=uid,
        provider_service=service,
        credentials=credentials,
        granted_scopes=granted_scopes,
    )
    transaction.on_commit(lambda: async_task("calendars.tasks.profile_first_sync", profile.pk))
    consent.profile_id = profile.pk
    consent_save(request, consent)
    return profile


@transaction.atomic
def consent_hosted_profile(*, request: HttpRequest, consent: ConsentRequest, user: User) -> CalendarProfile:
    """No Access: a hosted calendar for a person whose email address is proven."""
    profile = calendar_profile_connect(user=user, provider_name=ProfileProviderName.CRONOFY, profile_name=user.email)
    consent.profile_id = profile.pk
    consent_save(request, consent)
    return profile


@transaction.atomic
def profile_relink_from_provider(
    *,
    user: User,
    profile_id: str,
    uid: str,
    access_token: str,
    refresh_token: str,
    expires_at: str | None,
    granted_scopes: list[str],
) -> CalendarProfile | None:
    """A relink: the same provider account signs in again; its profile keeps its id and calendars."""
    profile = CalendarProfile.objects.filter(public_id=profile_id, user=user).first()
    if profile is None or profile.provider_account_id != uid:
        return None  # another calendar account: not a relink of this profile
    credentials = dict(profile.credentials or {})
    credentials.update(
        access_token=access_token, expires_at=expires_at, scopes=granted_scopes or credentials.get("scopes", [])
    )
    if refresh_token:
        credentials["refresh_token"] = refresh_token
    profile = calendar_profile_connect(
        user=user,
        provider_name=profile.provider_name,
        profile_name=profile.profile_name,
        provider_account_id=uid,
        provider_service=profile.provider_service,
        credentials=credentials,
        granted_scopes=granted_scopes or profile.granted_scopes,
    )
    transaction.on_commit(lambda: async_task("calendars.tasks.profile_first_sync", profile.pk))
    return profile
