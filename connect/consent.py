"""The consent flow behind Cronofy's `/oauth/authorize`: which application asked for what, which
provider and access mode the person picks, and the profile their consent produces.

The organization's access mode is a ceiling on every path. When the person's domain is served by an
organization's calendar service, they are offered that mode at most (No Access: no provider consent at
all); when the organization already holds the grant, they consent only to the application, whose
access attaches to the organization's profile of them. Everything a page says about a mode comes from
the mode's policy.

A flow lives in the person's session, keyed by a random id, until it ends in a code or a refusal.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django_q.tasks import async_task

from accounts import api_scopes
from accounts.models import Application, User
from accounts.oauth import OAuthError, redirect_uri_allowed
from accounts.selectors import application_by_client_id, user_listed_by_organization
from calendars.access_modes import modes_allowed_under, policy_for
from calendars.choices import CalendarProvider, ProfileProviderName, profile_provider_name
from calendars.models import CalendarProfile, CalendarService
from calendars.providers import microsoft_app
from calendars.scopes import Flow, requested_scopes
from calendars.selectors import calendar_ceiling_for, calendar_service_holds_grant
from calendars.services import (
    calendar_profile_connect,
    calendar_service_provision_person,
    profile_provider_service,
)
from core.choices import AccessMode

SESSION_PREFIX = "consent:"
PENDING_KEY = "consent:pending"
# The flow that ended last (refused, cancelled or completed): where a person who comes back to a provider
# page afterwards (Back, then Continue) can start again, or return to the application.
LAST_ENDED_KEY = "consent:last-ended"
LIFETIME_SECONDS = 3600
# The app registration a provider login started with, per allauth provider: its callback must use the
# same one (connect/adapters.py).
APP_SESSION_PREFIX = "connect:app:"

# provider_name as integrators send it -> (calendar platform, access mode it forces or None)
PROVIDER_NAMES: dict[str, tuple[str | None, str | None]] = {
    "google": (CalendarProvider.GOOGLE, None),
    "google_free_busy": (CalendarProvider.GOOGLE, AccessMode.FREE_BUSY),
    "office365": (CalendarProvider.MICROSOFT, None),
    "exchange": (CalendarProvider.MICROSOFT, None),
    "ms_graph_free_busy": (CalendarProvider.MICROSOFT, AccessMode.FREE_BUSY),
    "cronofy": (None, AccessMode.NO_ACCESS),
}
# Every mode, highest first (the order pages offer them in).
MODES_BY_RANK = tuple(sorted(AccessMode.values, key=lambda mode: -policy_for(mode).rank))
# The provider page's choice of no calendar provider at all (a mode that needs no provider's consent).
NO_ACCESS_CHOICE = "no_access"


#
# The calendar providers a person signs in to, behind one registry
#


def _google_credentials(*, access_token: str, refresh_token: str, expires_at: str | None, scopes: list[str], **_: Any):
    return {
        "kind": "google_user",
        "access_token": access_token,
        "refresh_token": refresh_token,
        "expires_at": expires_at,
        "scopes": scopes,
    }


def _microsoft_credentials(
    *, access_token: str, refresh_token: str, expires_at: str | None, scopes: list[str], client_id: str
) -> dict[str, Any]:
    return {
        "kind": "microsoft_delegated",
        "access_token": access_token,
        "refresh_token": refresh_token,
        "expires_at": expires_at,
        "scopes": scopes,
        "tenant_id": "organizations",
        "client_id": client_id,  # a delegated grant belongs to the app registration that obtained it
    }


@dataclass(frozen=True)
class ProviderLogin:
    """How a person signs in to one calendar platform through allauth."""

    allauth_id: str
    label: str
    hint: str
    auth_params: dict[str, str]
    client_id: Callable[[str], str]  # the app registration used for a mode
    credentials: Callable[..., dict[str, Any]]
    account_service: Callable[[dict[str, Any]], str]  # Cronofy's provider_service from the account's data


PROVIDER_LOGINS: dict[str, ProviderLogin] = {
    CalendarProvider.GOOGLE: ProviderLogin(
        allauth_id="google",
        label="Google",
        hint="Google Workspace or Gmail",
        auth_params={"access_type": "offline", "prompt": "consent"},
        client_id=lambda mode: settings.GOOGLE_CLIENT_ID,
        credentials=_google_credentials,
        account_service=lambda extra: "gsuite" if extra.get("hd") else "google",
    ),
    CalendarProvider.MICROSOFT: ProviderLogin(
        allauth_id="microsoft",
        label="Microsoft 365",
        hint="Outlook calendar",
        auth_params={"prompt": "select_account"},
        # Free/Busy people consent to the least-privileged registration, and see its name.
        client_id=lambda mode: microsoft_app(mode)[0],
        credentials=_microsoft_credentials,
        account_service=lambda extra: "office365",
    ),
}
PLATFORM_OF_ALLAUTH = {login.allauth_id: platform for platform, login in PROVIDER_LOGINS.items()}


def provider_scopes(platform: str, access_mode: str) -> list[str]:
    """What the provider is asked for: exactly the registry's individual-consent scopes of the mode."""
    return requested_scopes(Flow.INDIVIDUAL_CONSENT, provider=platform, access_mode=access_mode)


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
    provider_client_id: str = ""
    failure: str = ""
    not_connected_reason: str = ""
    governed: bool = False  # the application attaches to the organization's connection
    verification_sent: bool = False
    created_at: float = 0.0

    @property
    def forced_mode(self) -> str | None:
        return PROVIDER_NAMES.get(self.provider_name, (None, None))[1]

    @property
    def forced_platform(self) -> str | None:
        return PROVIDER_NAMES.get(self.provider_name, (None, None))[0]

    @property
    def offers_mode_choice(self) -> bool:
        return api_scopes.FREE_BUSY_WRITE in self.scopes and self.forced_mode is None

    @property
    def authorize_query(self) -> str:
        """The integrator's authorization request this flow began with, to begin it again."""
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(self.scopes),
            "state": self.state,
            "provider_name": self.provider_name,
            "avoid_linking": "true" if self.avoid_linking else "",
        }
        return urlencode({key: value for key, value in params.items() if value})

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
    application = application_by_client_id(params.get("client_id", ""))
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
    forced = consent.forced_mode
    if forced is not None and not application.offers(forced):
        return None, None, _refused(consent, "invalid_request", f"This application does not offer {forced}.")
    if not application.offered_access_modes:
        return None, None, _refused(consent, "invalid_request", "This application offers no calendar access mode.")
    consent.platform = consent.forced_platform
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
    known = {name for name in ConsentRequest.__dataclass_fields__}
    return ConsentRequest(**{key: value for key, value in data.items() if key in known})


def consent_end(request: HttpRequest, consent: ConsentRequest) -> None:
    request.session[LAST_ENDED_KEY] = {
        "client_id": consent.client_id,
        "authorize_query": consent.authorize_query,
        "back_url": consent.redirect({"error": "access_denied"}),
        "ended_at": time.time(),
    }
    request.session.pop(SESSION_PREFIX + consent.id, None)
    if request.session.get(PENDING_KEY) == consent.id:
        request.session.pop(PENDING_KEY, None)


@dataclass(frozen=True)
class EndedConsent:
    """A flow that ended: its application, how to ask again, and the way back to the application."""

    application: Application
    authorize_query: str
    back_url: str


def consent_last_ended(request: HttpRequest) -> EndedConsent | None:
    """The flow that ended last in this session, within a flow's lifetime."""
    data = request.session.get(LAST_ENDED_KEY) or {}
    if not data or time.time() - data.get("ended_at", 0) > LIFETIME_SECONDS:
        return None
    application = application_by_client_id(data.get("client_id", ""))
    if application is None:
        return None
    return EndedConsent(application=application, authorize_query=data["authorize_query"], back_url=data["back_url"])


def pending_consent(request: HttpRequest) -> ConsentRequest | None:
    consent_id = request.session.get(PENDING_KEY)
    return consent_load(request, consent_id) if consent_id else None


#
# What the person may choose: the application's modes, under their organization's ceiling
#


@dataclass(frozen=True)
class ConsentOptions:
    """The modes offered to this person for this request, highest first, and why no more.

    `governed` is the organization's service when it already holds the grant: the person then
    consents only to the application. `refusal` says, in the person's words, why nothing can be offered.
    """

    modes: list[str]
    ceiling: CalendarService | None = None
    governed: CalendarService | None = None
    refusal: str = ""
    platforms: list[str] = field(default_factory=list)

    @property
    def ceiling_text(self) -> str:
        if self.ceiling is None:
            return ""
        return self.ceiling.policy.ceiling_text(organization=self.ceiling.organization.name)

    @property
    def provider_modes(self) -> list[str]:
        return [mode for mode in self.modes if policy_for(mode).needs_provider_authorization]

    @property
    def offers_no_access(self) -> bool:
        return any(not policy_for(mode).needs_provider_authorization for mode in self.modes)

    def permissions(self, scopes: list[str]) -> list[str]:
        """What the application would be able to do at most: in the highest mode offered."""
        return policy_for(self.modes[0]).describe_api_scopes(scopes) if self.modes else []


def consent_options(consent: ConsentRequest, application: Application, user: User) -> ConsentOptions:
    """The modes this person may connect in for this request.

    The application's offer first: the mode it forces, or with `free_busy_write` every mode it offers
    (No Access included), or without it the first one (the access-mode choice is not offered, as
    Cronofy's FAQ says). Then the organization's ceiling: nothing above it; where that leaves nothing,
    the highest mode the application offers under it.
    """
    offered = [mode for mode in MODES_BY_RANK if application.offers(mode)]
    if consent.forced_mode:
        candidates = [consent.forced_mode]
    elif consent.offers_mode_choice:
        candidates = offered
    else:
        candidates = offered[:1]
    ceiling = calendar_ceiling_for(emails=[user.email])
    if ceiling is None:
        return ConsentOptions(modes=candidates, platforms=_platforms(consent, candidates))
    allowed = (
        modes_allowed_under(ceiling.access_mode, candidates) or modes_allowed_under(ceiling.access_mode, offered)[:1]
    )
    forces_no_provider = (
        consent.forced_mode is not None and not policy_for(consent.forced_mode).needs_provider_authorization
    )
    if calendar_service_holds_grant(ceiling) and not forces_no_provider:
        if application.offers(ceiling.access_mode):
            return ConsentOptions(modes=[ceiling.access_mode], ceiling=ceiling, governed=ceiling)
        # The organization connects this person's calendar in a mode the application does not take: it
        # may only give them a calendar kept here.
        allowed = [mode for mode in allowed if not policy_for(mode).needs_provider_authorization]
    if not allowed:
        refusal = (
            f"{ceiling.policy.ceiling_text(organization=ceiling.organization.name)} "
            f"{application.name} does not offer that."
        )
        return ConsentOptions(modes=[], ceiling=ceiling, refusal=refusal)
    return ConsentOptions(modes=allowed, ceiling=ceiling, platforms=_platforms(consent, allowed))


def _platforms(consent: ConsentRequest, modes: list[str]) -> list[str]:
    if not any(policy_for(mode).needs_provider_authorization for mode in modes):
        return []
    if consent.forced_platform:
        return [consent.forced_platform]
    return list(PROVIDER_LOGINS)


def mode_choices(options: ConsentOptions, consent: ConsentRequest) -> list[str]:
    """The modes on the review page: the provider modes for a chosen calendar platform, or No Access."""
    if options.governed is not None:
        return options.modes
    if consent.platform is None:
        return [mode for mode in options.modes if not policy_for(mode).needs_provider_authorization]
    return options.provider_modes


#
# The profile the consent produces
#


class NotConnected(Exception):
    """The provider's consent could not become a profile; `reason` is for the person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
) -> CalendarProfile | None:
    """Keep the provider's grant as a profile: tokens encrypted in our credentials, the scopes the
    provider reported as granted, calendars listed by the first sync. A connection the person may not
    make (above their organization's mode, or of an account the organization connects itself) makes
    none, and the consent says why."""
    platform = PLATFORM_OF_ALLAUTH[provider]
    login = PROVIDER_LOGINS[platform]
    access_mode = consent.access_mode or AccessMode.READ_WRITE
    credentials = login.credentials(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_at=expires_at,
        scopes=granted_scopes,
        client_id=consent.provider_client_id or login.client_id(access_mode),
    )
    provider_name = profile_provider_name(platform=platform, access_mode=access_mode)
    try:
        with transaction.atomic():
            profile = calendar_profile_connect(
                user=user,
                provider_name=provider_name,
                profile_name=email,
                provider_account_id=uid,
                provider_service=profile_provider_service(
                    access_mode=access_mode,
                    provider_name=provider_name,
                    account_service=login.account_service(extra_data),
                ),
                credentials=credentials,
                granted_scopes=granted_scopes,
            )
    except ValidationError as error:
        consent.not_connected_reason = " ".join(error.messages)
        consent_save(request, consent)
        return None
    transaction.on_commit(lambda: async_task("calendars.tasks.profile_first_sync", profile.pk))
    consent.profile_id = profile.pk
    consent_save(request, consent)
    return profile


def identity_proven(user: User, *, service: CalendarService | None) -> bool:
    """Without calendar access, who the person is must be proven otherwise: their organization lists
    them (its directory's word), or they confirmed their email address."""
    if service is not None and user_listed_by_organization(user=user, organization=service.organization):
        return True
    return EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()


@transaction.atomic(durable=True)
def consent_hosted_profile(*, request: HttpRequest, consent: ConsentRequest, user: User) -> CalendarProfile:
    """No Access: a hosted calendar for a person whose identity is proven."""
    profile = calendar_profile_connect(user=user, provider_name=ProfileProviderName.CRONOFY, profile_name=user.email)
    consent.profile_id = profile.pk
    consent_save(request, consent)
    return profile


def consent_governed_profile(
    *, request: HttpRequest, consent: ConsentRequest, user: User, service: CalendarService
) -> CalendarProfile:
    """The organization holds the grant: the application's access attaches to the organization's
    profile of this person (made now if the organization's provisioning has not reached them yet, after
    asking the provider, outside any transaction, that the person is one of its users)."""
    profile = calendar_service_provision_person(service=service, user=user)
    consent.access_mode, consent.governed = service.access_mode, True
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
    access_mode: str | None = None,
    client_id: str = "",
) -> CalendarProfile | None:
    """A relink: the same provider account signs in again, in its mode or the one the person chose
    (a change of mode through the provider's consent); its profile keeps its id and calendars. None
    when it was another account, or a mode the organization does not allow."""
    profile = CalendarProfile.objects.filter(public_id=profile_id, user=user).first()
    if profile is None or profile.provider_account_id != uid or profile.calendar_service_id is not None:
        return None
    platform = profile.platform
    if platform is None:
        return None
    mode = access_mode or profile.access_mode
    login = PROVIDER_LOGINS[platform]
    previous = dict(profile.credentials or {})
    credentials = login.credentials(
        access_token=access_token,
        refresh_token=refresh_token or previous.get("refresh_token", ""),
        expires_at=expires_at,
        scopes=granted_scopes or previous.get("scopes", []),
        client_id=client_id or login.client_id(mode),
    )
    provider_name = profile_provider_name(platform=platform, access_mode=mode)
    try:
        with transaction.atomic():
            profile = calendar_profile_connect(
                user=user,
                provider_name=provider_name,
                profile_name=profile.profile_name,
                provider_account_id=uid,
                provider_service=profile_provider_service(
                    access_mode=mode, provider_name=provider_name, account_service=profile.provider_service
                ),
                credentials=credentials,
                granted_scopes=granted_scopes or profile.granted_scopes,
            )
    except ValidationError:
        return None
    transaction.on_commit(lambda: async_task("calendars.tasks.profile_first_sync", profile.pk))
    return profile
