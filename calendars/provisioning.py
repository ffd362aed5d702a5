"""Profiles through an organization's calendar service, for many people at once: what a service's
authorization and a directory round's onboarding both do. A fixed number of queries whatever the
number of people, so a directory of 10,000 is provisioned page by page in constant work per page."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django_q.tasks import async_task

from accounts.actors import Actor
from accounts.models import ConnectionStatus, User
from accounts.services import audit_record_many
from calendars.choices import (
    PLATFORM_BY_PROVIDER_NAME,
    CalendarProvider,
    ProfileProviderName,
    ProfileStatus,
    profile_provider_name,
)
from calendars.models import Calendar, CalendarProfile, CalendarService
from calendars.revocations import grant_revocation_queue

# The people of a service get their profiles from the organization's grant: none of them acted.
PROVISIONING = Actor.system("provisioning through the organization's calendar service")

# Cronofy's provider_service for a Workspace or Microsoft 365 account in Read-Write mode.
WORKSPACE_SERVICES: dict[str, str] = {CalendarProvider.GOOGLE: "gsuite", CalendarProvider.MICROSOFT: "office365"}


def verified_address() -> Q:
    """Accounts whose sign-in address was proven (by an email confirmation, a provider sign-in, or a
    directory): provisioning never trusts an address nobody proved."""
    return Q(emailaddress__email=F("email"), emailaddress__verified=True)


def _same_platform(platform: str) -> list[str]:
    return [name for name, of in PLATFORM_BY_PROVIDER_NAME.items() if of == platform]


def _profile_names(service: CalendarService) -> tuple[str, str]:
    """The provider name and provider service every profile through this service reports."""
    if not service.policy.needs_provider_authorization:
        return ProfileProviderName.CRONOFY, ProfileProviderName.CRONOFY
    name = profile_provider_name(platform=service.provider, access_mode=service.access_mode)
    writes = service.policy.writes_events_natively
    return name, WORKSPACE_SERVICES[service.provider] if writes else name


@transaction.atomic(savepoint=False)
def calendar_profiles_provision(*, service: CalendarService, users: list[User]) -> list[CalendarProfile]:
    """Give each of these people a profile through the service, in its mode, without their own consent
    (the organization connected for them), unless they have one already. A live profile of the same
    provider account that the person connected themselves is taken over by the service in place, so its
    id and calendars survive. Returns every live profile of these people through the service; first
    syncs of new ones are queued, one task for the lot."""
    if service.status != ConnectionStatus.ACTIVE or not users:
        return []
    provider_name, provider_service = _profile_names(service)
    hosted = not service.policy.needs_provider_authorization  # No Access: calendars kept here, no provider account
    by_id = {user.pk: user for user in users}
    live = CalendarProfile.objects.exclude(status=ProfileStatus.DISCONNECTED)
    through_service = {p.user_id: p for p in live.filter(calendar_service=service, user_id__in=by_id)}
    pending = [u for u in users if u.pk not in through_service]
    # People's own connections of the same account, in whatever mode: found by the account id provisioning
    # uses (the address) or, for the person's own, by the account's name (a consent keeps the provider's id).
    own_connections = (
        []
        if hosted
        else list(
            live.filter(calendar_service__isnull=True, provider_name__in=_same_platform(service.provider))
            .annotate(name_lower=Lower("profile_name"))
            .filter(
                Q(provider_account_id__in=[u.email for u in pending])
                | Q(user_id__in=[u.pk for u in pending], name_lower__in=[u.email for u in pending])
            )
        )
    )
    own_accounts = {p.provider_account_id: p for p in own_connections}
    own_accounts.update(
        {
            by_id[p.user_id].email: p
            for p in own_connections
            if p.user_id in by_id and p.name_lower == by_id[p.user_id].email
        }
    )
    created: list[CalendarProfile] = []
    taken_over: list[CalendarProfile] = []
    for profile in through_service.values():
        if profile.status != ProfileStatus.CONNECTED:
            # Waiting for the service's new authorization (a mode change): relinked in place.
            profile.provider_name, profile.access_mode = provider_name, service.access_mode
            profile.status, profile.last_error = ProfileStatus.CONNECTED, ""
            taken_over.append(profile)
    for user in users:
        if user.pk in through_service:
            continue
        own = own_accounts.get(user.email)
        if own is not None:
            if own.user_id != user.pk:
                continue  # someone else here connected this calendar account: never move it between people
            if own.credentials:
                # The organization's grant serves them now; the person's own is revoked at the provider.
                grant_revocation_queue(profile=own, credentials=own.credentials, reason="organization_took_over")
            own.calendar_service, own.organization = service, service.organization
            own.provider_name, own.access_mode, own.provider_account_id = provider_name, service.access_mode, user.email
            own.credentials, own.granted_scopes, own.provider_service = None, [], provider_service
            own.status, own.last_error = ProfileStatus.CONNECTED, ""
            taken_over.append(own)
            continue
        created.append(
            CalendarProfile(
                user=user,
                organization=service.organization,
                calendar_service=service,
                provider_name=provider_name,
                provider_service=provider_service,
                access_mode=service.access_mode,
                profile_name=user.email,
                provider_account_id="" if hosted else user.email,
            )
        )
    CalendarProfile.objects.bulk_create(created)
    if taken_over:
        CalendarProfile.objects.bulk_update(
            taken_over,
            [
                "calendar_service",
                "organization",
                "provider_account_id",
                "credentials",
                "granted_scopes",
                "provider_name",
                "provider_service",
                "access_mode",
                "status",
                "last_error",
            ],
        )
    if hosted:
        Calendar.objects.bulk_create(
            [
                Calendar(
                    profile=profile,
                    provider_calendar_id=f"hosted:{profile.public_id}",
                    name="Calendar",
                    is_primary=True,
                )
                for profile in created
            ]
        )
    audit_record_many(
        [
            {
                "actor": PROVISIONING,
                "target": profile,
                "action": "profile_connected" if profile in created else "profile_relinked",
                "organization": service.organization,
                "changes": {
                    "provider_name": provider_name,
                    "access_mode": service.access_mode,
                    "through": service.public_id,
                },
            }
            for profile in [*created, *taken_over]
        ]
    )
    new = [profile.pk for profile in [*created, *taken_over]]
    if new and service.policy.syncs_busy_periods:
        transaction.on_commit(lambda: async_task("calendars.tasks.profiles_first_sync", new))
    return [*through_service.values(), *created, *(p for p in taken_over if p.user_id not in through_service)]
