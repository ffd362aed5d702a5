"""Writes for conferencing: services connected, authorized and verified by an IT admin; people
linked to them by email address; people's own Zoom and Webex links; and the meetings made for events
(created, moved and deleted at the provider, safely retried).

Provider calls are never made inside a transaction: what a call needs is read first, the call is made,
and what it returned is written in a short transaction of its own.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from accounts.models import ConnectionStatus, Organization, User
from accounts.selectors import organization_subtree_ids, users_of_organizations
from accounts.services import (
    audit_record,
    organization_connection_create,
    organization_connection_disconnect,
    organization_connection_mark_failed,
    organization_connection_set_external_id,
    organization_connection_store_credentials,
)
from calendars.choices import ProfileStatus
from calendars.providers.base import ProviderAuthError, ProviderError, ProviderPermissionError
from calendars.providers.google import delegation_missing_scopes
from calendars.scopes import Flow, provider_scopes
from conferencing.models import (
    SCOPE_PROVIDER_BY_CONFERENCING_PROVIDER,
    ConferencingMeeting,
    ConferencingProfile,
    ConferencingProvider,
    ConferencingService,
    MeetingState,
)
from conferencing.providers import conferencing_client, personal_grant
from conferencing.providers.base import AccessPolicyMissing, ConferencingClient, ConferencingUser, MeetingSpec
from conferencing.selectors import conferencing_services_for_person

TEAMS_POLICY_HELP = (
    "Microsoft Teams refused to create a meeting for {email}: no Teams application access policy covers them "
    "for this application (app id {app_id}). A Teams administrator grants it in PowerShell:\n"
    '  New-CsApplicationAccessPolicy -Identity Scheduling-Meetings -AppIds "{app_id}" '
    '-Description "Meetings for bookings"\n'
    "  Grant-CsApplicationAccessPolicy -PolicyName Scheduling-Meetings -Global\n"
    "(or -Identity <user> for chosen people; Teams takes up to 30 minutes to apply it). Then check again."
)


def required_scopes(provider: str) -> list[str]:
    """What an organization's grant must cover for this provider: the seed's scopes and any the
    provider's API needs beyond them."""
    return provider_scopes(
        Flow.CONFERENCING, provider=SCOPE_PROVIDER_BY_CONFERENCING_PROVIDER[provider], product=provider
    )


#
# Services: connect, authorize, verify, default, disconnect
#


@transaction.atomic
def conferencing_service_connect(
    *, organization: Organization, provider: str, connected_by: User | None, external_id: str = ""
) -> ConferencingService:
    """Start connecting a conferencing service; the organization's first live one becomes its default."""
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    service = organization_connection_create(
        model=ConferencingService,
        organization=organization,
        provider=provider,
        connected_by=connected_by,
        external_id=external_id,
    )
    live = ConferencingService.objects.filter(organization=organization).exclude(status=ConnectionStatus.DISCONNECTED)
    if not live.filter(is_default=True).exists():
        service.is_default = True
        service.save(update_fields=["is_default", "updated_at"])
    return service


@transaction.atomic
def conferencing_service_update(
    *, service: ConferencingService, actor: User | None, external_id: str
) -> ConferencingService:
    return organization_connection_set_external_id(connection=service, actor=actor, external_id=external_id)


@transaction.atomic(durable=True)
def conferencing_service_set_default(*, service: ConferencingService, actor: User | None) -> ConferencingService:
    """Make this the service `profile_id: "default"` uses for the organization."""
    Organization.objects.select_for_update().filter(pk=service.organization_id).first()
    service.refresh_from_db()
    if not service.is_live:
        raise ValidationError("A disconnected service cannot be the default.", code="disconnected")
    if service.is_default:
        return service
    ConferencingService.objects.filter(organization_id=service.organization_id, is_default=True).update(
        is_default=False
    )
    service.is_default = True
    service.save(update_fields=["is_default", "updated_at"])
    audit_record(actor=actor, target=service, action="made_default")
    return service


@transaction.atomic
def conferencing_service_disconnect(*, service: ConferencingService, actor: User | None) -> ConferencingService:
    """Forget the grant; the people linked through it lose their profiles, and another live service of
    the organization becomes its default."""
    service = ConferencingService.objects.select_for_update().get(pk=service.pk)
    if not service.is_live:
        return service
    was_default = service.is_default
    organization_connection_disconnect(connection=service, actor=actor)
    ConferencingService.objects.filter(pk=service.pk).update(is_default=False)
    service.is_default = False
    service.profiles.exclude(status=ProfileStatus.DISCONNECTED).update(
        status=ProfileStatus.DISCONNECTED, disconnected_at=timezone.now(), updated_at=timezone.now()
    )
    if was_default:
        successor = (
            ConferencingService.objects.filter(organization_id=service.organization_id)
            .exclude(status=ConnectionStatus.DISCONNECTED)
            .order_by("created_at", "pk")
            .first()
        )
        if successor is not None:
            ConferencingService.objects.filter(pk=successor.pk).update(is_default=True)
    return service


def _check_provider(service: ConferencingService, provider: str) -> None:
    if service.provider != provider:
        raise ValidationError(f"This is a {service.get_provider_display()} service.")
    if not service.is_live:
        raise ValidationError("A disconnected service cannot be authorized again; connect a new one.")


def _missing(service: ConferencingService, granted: list[str]) -> list[str]:
    return [scope for scope in required_scopes(service.provider) if scope not in granted]


@transaction.atomic
def conferencing_service_authorize(
    *,
    service: ConferencingService,
    credentials: dict[str, Any],
    granted_scopes: list[str],
    external_id: str = "",
    actor: User | None,
    known_good: bool = False,
) -> ConferencingService:
    """Keep the grant, still pending: a service goes live only once a test meeting went through.
    `known_good` is for seeding a sandbox whose accounts are known to work (the demo): live at once."""
    organization_connection_store_credentials(
        connection=service,
        credentials=credentials,
        granted_scopes=granted_scopes,
        external_id=external_id,
        actor=actor,
        status=ConnectionStatus.ACTIVE if known_good else ConnectionStatus.PENDING,
    )
    if not known_good:
        ConferencingService.objects.filter(pk=service.pk).update(
            last_error="Authorized; not verified yet (a test meeting is created and deleted)."
        )
    service.refresh_from_db()
    return service


def conferencing_service_authorize_zoom(
    *, service: ConferencingService, account_id: str, client_id: str, client_secret: str, actor: User | None
) -> ConferencingService:
    """A Server-to-Server OAuth app of the organization's Zoom account: its token must carry every
    scope the seed names; a refusal says which are missing."""
    _check_provider(service, ConferencingProvider.ZOOM)
    credentials = {
        "kind": "zoom_server_to_server",
        "account_id": account_id.strip(),
        "client_id": client_id.strip(),
        "client_secret": client_secret.strip(),
    }
    try:
        granted = conferencing_client(ConferencingProvider.ZOOM, credentials).granted_scopes()
    except ProviderAuthError as error:
        raise ValidationError(
            f"Zoom refused these credentials ({error}). Check the Server-to-Server OAuth app's account id, "
            "client id and client secret, and that the app is activated."
        ) from None
    except ProviderError:
        raise ValidationError("Zoom could not be reached; try again shortly.") from None
    missing = _missing(service, granted)
    if missing:
        raise ValidationError(
            "The Zoom app does not have every scope it needs. Add these scopes to the app in the Zoom App "
            "Marketplace (Manage, your app, Scopes), then try again: " + ", ".join(missing)
        )
    return conferencing_service_authorize(
        service=service,
        credentials=credentials,
        granted_scopes=granted,
        external_id=credentials["account_id"],
        actor=actor,
    )


def conferencing_service_authorize_meet(
    *, service: ConferencingService, key: dict[str, Any], test_user: str, actor: User | None
) -> ConferencingService:
    """A Google service account key: its domain-wide delegation must grant the Meet scopes for the
    Workspace's users; a refusal names the scopes the Workspace admin has not delegated."""
    _check_provider(service, ConferencingProvider.GOOGLE_MEET)
    if (
        not isinstance(key, dict)
        or key.get("type") != "service_account"
        or not key.get("private_key")
        or not key.get("client_email")
    ):
        raise ValidationError("This is not a Google service account key file (JSON with type service_account).")
    scopes = required_scopes(service.provider)
    credentials = {"kind": "google_service_account", "key": key, "scopes": scopes}
    try:
        found = conferencing_client(service.provider, credentials).find_users([test_user])
    except ProviderPermissionError:
        try:
            missing = delegation_missing_scopes(key, subject=test_user, scopes=scopes)
        except (ValueError, TypeError):
            raise ValidationError("The key file's private key cannot be read.") from None
        raise ValidationError(
            "The Workspace admin has not delegated every Meet scope to "
            f"{key['client_email']} (client id {key.get('client_id', '?')}). In the Google Admin console, Security, "
            "API controls, Domain-wide delegation, add: " + ", ".join(missing or scopes)
        ) from None
    except (ValueError, TypeError):
        raise ValidationError("The key file's private key cannot be read.") from None
    except ProviderError:
        raise ValidationError("Google could not be reached to check the delegation; try again shortly.") from None
    if test_user.lower() not in found:
        raise ValidationError(f"{test_user} is not a user of a Workspace that delegates to this service account.")
    return conferencing_service_authorize(
        service=service,
        credentials=credentials,
        granted_scopes=scopes,
        external_id=key.get("client_id", ""),
        actor=actor,
    )


def conferencing_service_authorize_teams(
    *, service: ConferencingService, tenant_id: str, actor: User | None
) -> ConferencingService:
    """After the tenant admin's consent: the app-only token must carry the application permissions;
    the Teams application access policy is checked by `conferencing_service_verify`."""
    _check_provider(service, ConferencingProvider.MS_TEAMS)
    credentials = {"kind": "microsoft_app", "tenant_id": tenant_id}
    try:
        roles = conferencing_client(service.provider, credentials).granted_scopes()
    except ProviderAuthError as error:
        raise ValidationError(f"Microsoft refused the tenant's consent: {error}") from None
    except ProviderError:
        raise ValidationError("Microsoft could not be reached; try again shortly.") from None
    missing = _missing(service, roles)
    if missing:
        raise ValidationError(
            "The tenant's consent does not include every permission Teams meetings need. Missing: " + ", ".join(missing)
        )
    return conferencing_service_authorize(
        service=service, credentials=credentials, granted_scopes=roles, external_id=tenant_id, actor=actor
    )


def conferencing_service_authorize_webex(
    *, service: ConferencingService, credentials: dict[str, Any], organization_id: str, actor: User | None
) -> ConferencingService:
    """An administrator of the Webex organization authorized our integration with the seed's scopes."""
    _check_provider(service, ConferencingProvider.WEBEX)
    missing = _missing(service, credentials.get("scopes", []))
    if missing:
        raise ValidationError("Webex did not grant every scope: " + ", ".join(missing))
    return conferencing_service_authorize(
        service=service,
        credentials=credentials,
        granted_scopes=list(credentials.get("scopes", [])),
        external_id=organization_id,
        actor=actor,
    )


def _verification_error(service: ConferencingService, error: ProviderError, email: str) -> ValidationError:
    name = service.get_provider_display()
    if isinstance(error, AccessPolicyMissing):
        return ValidationError(TEAMS_POLICY_HELP.format(email=email, app_id=settings.MICROSOFT_TEAMS_CLIENT_ID))
    if isinstance(error, ProviderPermissionError):
        return ValidationError(
            f"{name} refused the test meeting: a permission is missing ({error}). The grant needs: "
            + ", ".join(required_scopes(service.provider))
        )
    if isinstance(error, ProviderAuthError):
        return ValidationError(f"{name} no longer accepts the grant ({error}); authorize the service again.")
    return ValidationError(f"{name} could not be reached to create the test meeting; try again shortly.")


def conferencing_service_verify(
    *, service: ConferencingService, test_user: str, actor: User | None
) -> ConferencingService:
    """Create and delete a test meeting for `test_user` with the service's grant, and only then let the
    service go live; its people are linked right after."""
    if not service.is_live or not service.credentials:
        raise ValidationError("Authorize the service at its provider first.")
    client = _service_client(service)
    email = test_user.strip().lower()
    try:
        host = client.find_users([email]).get(email)
        if host is None:
            raise ValidationError(
                f"{email} is not a user of the organization's {service.get_provider_display()}; choose someone who is."
            )
        start = (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        spec = MeetingSpec(
            key=f"check-{service.public_id}-{secrets.token_hex(4)}",
            title="Connection check (deleted straight away)",
            start=start,
            end=start + timedelta(minutes=15),
        )
        meeting = client.create_meeting(host, spec)
        client.delete_meeting(host, meeting.meeting_id)
    except ProviderError as error:
        failure = _verification_error(service, error, email)
        ConferencingService.objects.filter(pk=service.pk).update(last_error=" ".join(failure.messages)[:2000])
        raise failure from None
    with transaction.atomic():
        locked = ConferencingService.objects.select_for_update().get(pk=service.pk)
        if not locked.is_live:
            raise ValidationError("The service was disconnected meanwhile.")
        locked.status, locked.last_error, locked.verified_at = ConnectionStatus.ACTIVE, "", timezone.now()
        locked.save(update_fields=["status", "last_error", "verified_at", "updated_at"])
        audit_record(actor=actor, target=locked, action="verified", changes={"test_user": email})
        transaction.on_commit(lambda: async_task("conferencing.tasks.service_link_people", locked.pk))
    return locked


#
# Clients, with refreshed tokens kept (encrypted)
#


def _service_client(service: ConferencingService) -> ConferencingClient:
    def store(credentials: dict[str, Any]) -> None:
        ConferencingService.objects.filter(pk=service.pk).update(credentials=credentials)

    if not service.credentials:
        raise ProviderAuthError(f"The {service.get_provider_display()} service holds no grant.")
    return conferencing_client(service.provider, service.credentials, on_credentials_changed=store)


def _profile_client(profile: ConferencingProfile) -> ConferencingClient:
    service = profile.service  # no query when the profile has no service
    if service is not None:
        if service.status != ConnectionStatus.ACTIVE:
            raise ProviderAuthError(f"The organization's {service.get_provider_display()} service is not live.")
        return _service_client(service)
    if not profile.credentials or not profile.is_connected:
        raise ProviderAuthError("The profile's own grant is gone; the person has to link it again.")

    def store(credentials: dict[str, Any]) -> None:
        ConferencingProfile.objects.filter(pk=profile.pk).update(credentials=credentials)

    return conferencing_client(profile.provider, profile.credentials, on_credentials_changed=store)


def _host(profile: ConferencingProfile) -> ConferencingUser:
    return ConferencingUser(user_id=profile.provider_user_id, email=profile.profile_name, name=profile.display_name)


@transaction.atomic
def _grant_lost(profile: ConferencingProfile, error: ProviderError) -> None:
    """The provider no longer accepts the grant: the service needs its admin, or the person a relink."""
    if profile.service_id is not None:
        service = ConferencingService.objects.select_for_update().get(pk=profile.service_id)
        if service.status == ConnectionStatus.ACTIVE:
            organization_connection_mark_failed(connection=service, error=str(error))
        return
    ConferencingProfile.objects.filter(pk=profile.pk).update(
        status=ProfileStatus.RELINK_REQUIRED, last_error=str(error)[:2000], updated_at=timezone.now()
    )


#
# People, linked by email address
#


@dataclass(frozen=True)
class LinkResult:
    linked: int = 0
    unlinked: int = 0


def _candidates(service: ConferencingService) -> list[User]:
    organizations = organization_subtree_ids(organization_id=service.organization_id)
    return list(users_of_organizations(organization_ids=organizations).filter(is_active=True).order_by("pk"))


def conferencing_service_link_people(*, service_id: int) -> LinkResult:
    """Give every active member of the organization (and its units) whose email is a user of the service a
    profile through it; take it away from people who left the organization or the provider. The provider
    is asked once, before any transaction opens."""
    service = ConferencingService.objects.filter(pk=service_id).first()
    if service is None or service.status != ConnectionStatus.ACTIVE:
        return LinkResult()
    people = _candidates(service)
    try:
        found = _service_client(service).find_users([person.email for person in people])
    except ProviderAuthError as error:
        with transaction.atomic():
            organization_connection_mark_failed(connection=service, error=str(error))
        return LinkResult()
    return _apply_links(service=service, people=people, found=found, complete=True)


def conferencing_service_link_accounts(*, service: ConferencingService, accounts: list[ConferencingUser]) -> LinkResult:
    """Link the organization's people to the provider's users as the caller listed them (the demo reads
    its sandbox directly)."""
    return _apply_links(
        service=service, people=_candidates(service), found={a.email.lower(): a for a in accounts}, complete=True
    )


def conferencing_person_link(*, user_id: int) -> LinkResult:
    """A person joined an organization (by hand, or through the directory): link them to its services."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return LinkResult()
    linked = unlinked = 0
    for service in conferencing_services_for_person(user=user):
        try:
            found = _service_client(service).find_users([user.email])
        except ProviderAuthError as error:
            with transaction.atomic():
                organization_connection_mark_failed(connection=service, error=str(error))
            continue
        result = _apply_links(service=service, people=[user], found=found, complete=False)
        linked, unlinked = linked + result.linked, unlinked + result.unlinked
    return LinkResult(linked, unlinked)


@transaction.atomic
def _apply_links(
    *, service: ConferencingService, people: list[User], found: dict[str, ConferencingUser], complete: bool
) -> LinkResult:
    """Make the service's profiles match what the provider said about these people. `complete`: they are
    all of the organization's people, so anyone else linked has left it."""
    service = ConferencingService.objects.select_for_update().get(pk=service.pk)
    if service.status != ConnectionStatus.ACTIVE:
        return LinkResult()
    live = {
        profile.user_id: profile
        for profile in service.profiles.select_for_update().exclude(status=ProfileStatus.DISCONNECTED)
    }
    now = timezone.now()
    linked, gone = [], []
    for person in people:
        account = found.get(person.email.lower())
        profile = live.pop(person.pk, None)
        if account is None:
            if profile is not None:
                gone.append(profile)
            continue
        if profile is None:
            profile = ConferencingProfile(user=person, service=service, provider=service.provider)
            linked.append(person.email)
        elif (profile.provider_user_id, profile.display_name, profile.status) == (
            account.user_id,
            account.name,
            ProfileStatus.CONNECTED,
        ):
            continue
        profile.provider_user_id, profile.profile_name = account.user_id, account.email
        profile.display_name, profile.status, profile.last_error = account.name[:200], ProfileStatus.CONNECTED, ""
        profile.full_clean()
        profile.save()
    if complete:
        gone.extend(live.values())
    for profile in gone:
        profile.status, profile.disconnected_at = ProfileStatus.DISCONNECTED, now
        profile.save(update_fields=["status", "disconnected_at", "updated_at"])
    if complete:
        service.people_linked_at = now
        service.save(update_fields=["people_linked_at", "updated_at"])
    if linked or gone:
        audit_record(
            actor=None,
            target=service,
            action="people_linked",
            changes={"linked": linked, "unlinked": [profile.profile_name for profile in gone]},
        )
    return LinkResult(len(linked), len(gone))


#
# A person's own Zoom or Webex
#


@transaction.atomic
def conferencing_profile_link_own(
    *, user: User, provider: str, account: ConferencingUser, credentials: dict[str, Any], granted_scopes: list[str]
) -> ConferencingProfile:
    """The person authorized our app at the provider for their own account. Linking the same account
    again refreshes the profile in place (its id survives a relink)."""
    existing = (
        ConferencingProfile.objects.select_for_update()
        .filter(service__isnull=True, provider=provider, provider_user_id=account.user_id)
        .exclude(status=ProfileStatus.DISCONNECTED)
        .first()
    )
    if existing is not None and existing.user_id != user.pk:
        raise ValidationError("This conferencing account is already linked to another person.", code="linked_elsewhere")
    profile = existing or ConferencingProfile(user=user, provider=provider, provider_user_id=account.user_id)
    profile.profile_name, profile.display_name = account.email, account.name[:200]
    profile.credentials, profile.granted_scopes = credentials, list(granted_scopes)
    profile.status, profile.last_error = ProfileStatus.CONNECTED, ""
    profile.full_clean()
    profile.save()
    audit_record(
        actor=user,
        target=profile,
        action="conferencing_relinked" if existing else "conferencing_linked",
        changes={"provider": provider, "granted_scopes": profile.granted_scopes},
    )
    return profile


@transaction.atomic
def conferencing_profile_disconnect(*, profile: ConferencingProfile, actor: User | None) -> ConferencingProfile:
    if profile.status == ProfileStatus.DISCONNECTED:
        return profile
    profile.status, profile.credentials, profile.disconnected_at = ProfileStatus.DISCONNECTED, None, timezone.now()
    profile.save(update_fields=["status", "credentials", "disconnected_at", "updated_at"])
    audit_record(actor=actor, target=profile, action="conferencing_disconnected")
    return profile


#
# Meetings for events
#


@transaction.atomic(savepoint=False)
def conferencing_meeting_open(*, profile: ConferencingProfile, reference: str) -> ConferencingMeeting:
    """A meeting to be made for an event (inside the caller's transaction); nothing is at the provider yet."""
    return ConferencingMeeting.objects.create(profile=profile, reference=reference, provider=profile.provider)


def _differs(meeting: ConferencingMeeting, spec: MeetingSpec) -> bool:
    return (meeting.title, meeting.start, meeting.end) != (spec.title[:1024], spec.start, spec.end)


CREATE_LEASE = timedelta(minutes=5)


class MeetingBusy(ProviderError):
    """Another worker is creating this meeting right now: try again later."""

    def __init__(self) -> None:
        super().__init__("Another worker is creating this meeting.", retryable=True, retry_after=30)


def conferencing_meeting_sync(*, meeting_id: int, spec: MeetingSpec) -> ConferencingMeeting:
    """Make the provider's meeting match `spec`: create it the first time, move or rename it when the
    event changed, nothing otherwise. Raises ProviderError (after recording it) when the provider fails,
    MeetingBusy when another worker holds the create."""
    meeting = ConferencingMeeting.objects.select_related("profile__service").get(pk=meeting_id)
    if meeting.state == MeetingState.DELETED:
        return meeting
    profile = meeting.profile
    try:
        client = _profile_client(profile)
        if meeting.state == MeetingState.PENDING:
            unknown = _claim_create(meeting)
            made = client.find_meeting(_host(profile), spec) if unknown else None
            if made is None:
                made = client.create_meeting(_host(profile), spec)
            return _record(meeting, made=made, spec=spec)
        if _differs(meeting, spec):
            return _record(meeting, made=client.update_meeting(_host(profile), meeting.meeting_id, spec), spec=spec)
        return meeting
    except MeetingBusy:
        raise
    except ProviderError as error:
        _failed(meeting, error)
        if isinstance(error, ProviderAuthError):
            _grant_lost(profile, error)
        raise


def _claim_create(meeting: ConferencingMeeting) -> bool:
    """Take the create's lease; True when an earlier attempt's outcome is unknown (no answer came, or
    its worker died holding the lease), so the provider is asked for the meeting first."""
    now = timezone.now()
    with transaction.atomic():
        locked = ConferencingMeeting.objects.select_for_update().get(pk=meeting.pk)
        if locked.state != MeetingState.PENDING:
            raise MeetingBusy  # made meanwhile; the caller's next attempt sees it
        started = locked.attempt_started_at
        held = started is not None
        if started is not None and started > now - CREATE_LEASE:
            raise MeetingBusy
        unknown = locked.outcome_unknown or held
        locked.attempt_started_at, locked.attempts = now, locked.attempts + 1
        locked.save(update_fields=["attempt_started_at", "attempts", "updated_at"])
    return unknown


def conferencing_meeting_delete(*, meeting_id: int) -> ConferencingMeeting:
    """Delete the meeting at the provider (a create whose outcome is unknown is looked for first). A
    grant that is gone leaves it there, recorded."""
    meeting = ConferencingMeeting.objects.select_related("profile__service").get(pk=meeting_id)
    if meeting.state == MeetingState.DELETED:
        return meeting
    profile = meeting.profile
    provider_id = meeting.meeting_id
    try:
        client = _profile_client(profile)
        if not provider_id and (meeting.outcome_unknown or meeting.attempt_started_at):
            spec = MeetingSpec(key=meeting.reference, title=meeting.title, start=timezone.now(), end=timezone.now())
            found = client.find_meeting(_host(profile), spec)
            provider_id = found.meeting_id if found else ""
        if provider_id:
            client.delete_meeting(_host(profile), provider_id)
    except ProviderAuthError as error:
        ConferencingMeeting.objects.filter(pk=meeting.pk).update(
            last_error=f"Not deleted at the provider, whose grant is gone: {error}"[:2000]
        )
    except ProviderError as error:
        _failed(meeting, error)
        raise
    ConferencingMeeting.objects.filter(pk=meeting.pk).update(
        state=MeetingState.DELETED, deleted_at=timezone.now(), attempt_started_at=None, updated_at=timezone.now()
    )
    meeting.refresh_from_db()
    return meeting


def _record(meeting: ConferencingMeeting, *, made: Any, spec: MeetingSpec) -> ConferencingMeeting:
    values: dict[str, Any] = {
        "state": MeetingState.CREATED,
        "title": spec.title[:1024],
        "start": spec.start,
        "end": spec.end,
        "attempt_started_at": None,
        "outcome_unknown": False,
        "last_error": "",
        "updated_at": timezone.now(),
    }
    if made is not None:
        values.update(
            meeting_id=made.meeting_id,
            join_url=made.join_url,
            provider_description=made.provider_description,
            passcode=made.passcode[:64],
        )
    ConferencingMeeting.objects.filter(pk=meeting.pk).update(**values)
    meeting.refresh_from_db()
    return meeting


def _failed(meeting: ConferencingMeeting, error: ProviderError) -> None:
    # The lease goes back. The provider answered: nothing was made, so the next attempt creates again.
    # No answer at all (a timeout, a dropped connection): the next attempt looks for its meeting first.
    values: dict[str, Any] = {"last_error": str(error)[:2000], "attempt_started_at": None, "updated_at": timezone.now()}
    if error.status is None and meeting.state == MeetingState.PENDING:
        values["outcome_unknown"] = True
    ConferencingMeeting.objects.filter(pk=meeting.pk).update(**values)


def conferencing_profile_link_from_code(
    *, user: User, provider: str, code: str, redirect_uri: str
) -> ConferencingProfile:
    """The provider sent the person back with a code: exchange it, find out whose account it is, link it."""
    grant = personal_grant(provider, code=code, redirect_uri=redirect_uri)
    return conferencing_profile_link_own(
        user=user, provider=provider, account=grant.account, credentials=grant.credentials, granted_scopes=grant.scopes
    )
