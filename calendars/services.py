"""Writes for calendar services and calendar profiles."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from accounts.actors import Actor
from accounts.models import ConnectionStatus, Grant, Organization, User
from accounts.services import (
    audit_record,
    organization_connection_disconnect,
    organization_connection_mark_failed,
    organization_connection_store_credentials,
)
from calendars.access_modes import policy_for
from calendars.choices import (
    PLATFORM_BY_PROVIDER_NAME,
    PROVIDER_NAMES_BY_ACCESS_MODE,
    ProfileProviderName,
    ProfileStatus,
    profile_provider_name,
)
from calendars.clients import calendar_client_for_profile, calendar_client_for_service
from calendars.mode_changes import ModeChangeImpact, calendar_service_mode_change_impact, profiles_above_ceiling
from calendars.models import (
    BusyPeriod,
    Calendar,
    CalendarProfile,
    CalendarService,
    CalendarServiceDomain,
    DomainProof,
    ExternalEventDetail,
    ProviderWatch,
)
from calendars.notifications import profile_access_changed_notify, profile_disconnected_notify
from calendars.providers import OrganizationGrant, microsoft_app, provider_traits
from calendars.providers.base import ProviderCalendar, ProviderError, ProviderNotFound
from calendars.providers.google import (
    DelegationRefused,
    WorkspaceCustomer,
    delegation_missing_scopes,
    workspace_customer,
)
from calendars.providers.microsoft import consented_application_permissions, tenant_verified_domains
from calendars.provisioning import calendar_profiles_provision, verified_address
from calendars.revocations import grant_revocation_queue
from calendars.scopes import Flow, requested_scopes
from calendars.selectors import (
    calendar_ceiling_for,
    calendar_domains_claimed_elsewhere,
    calendar_service_for_email,
    calendar_service_holds_grant,
)
from calendars.watches import profile_watches_stop
from core.dns import DomainLookupFailed, domain_txt_records
from core.domains import email_domain, parse_domain_list

#
# Calendar services
#


def _domains_or_error(raw: list[str] | str) -> list[str]:
    try:
        domains = parse_domain_list(raw)
    except ValidationError as error:
        raise ValidationError({"domains": error.messages}) from None
    if not domains:
        raise ValidationError({"domains": "List at least one domain this service serves (for example acme.com)."})
    return domains


def calendar_domains_check_free(
    *, domains: list[str], organization: Organization, service: CalendarService | None = None
) -> None:
    """Refuse, readably, domains in use: claimed by another of this organization's services, or proven
    by any other service. Nothing is said of who holds a domain elsewhere: that would tell one customer
    about another. Another organization's unproven claim blocks nothing."""
    claims = calendar_domains_claimed_elsewhere(domains=domains, organization_id=organization.pk, service=service)
    if not claims:
        return
    messages = []
    for claim in sorted(claims, key=lambda claim: claim.domain):
        if claim.service.organization_id == organization.pk:
            messages.append(
                f"{claim.domain} is already claimed by this organization's calendar service "
                f"“{claim.service}”. Remove it there first."
            )
        else:
            messages.append(DOMAIN_IN_USE % {"domain": claim.domain})
    raise ValidationError({"domains": messages})


DOMAIN_IN_USE = "%(domain)s is already in use by another calendar service. If it is yours, contact support."


def _claim_domains(*, service: CalendarService, domains: list[str]) -> None:
    try:
        with transaction.atomic():
            CalendarServiceDomain.objects.bulk_create(
                [CalendarServiceDomain(service=service, domain=domain) for domain in domains]
            )
    except IntegrityError:
        # Another admin claimed one of these domains between our check and our insert.
        calendar_domains_check_free(domains=domains, organization=service.organization, service=service)
        raise ValidationError(
            {"domains": "One of these domains was just claimed by another calendar service."}
        ) from None


@transaction.atomic
def calendar_service_connect(
    *,
    organization: Organization,
    provider: str,
    access_mode: str,
    domains: list[str] | str,
    connected_by: User | None,
) -> CalendarService:
    """Connect an organization's calendar service for these domains in one access mode.

    No Access is live at once (there is nothing to authorize); the other modes wait for the provider's
    authorization. Each domain must not be served by another live service.
    """
    domain_list = _domains_or_error(domains)
    service = CalendarService(
        organization=organization,
        provider=provider,
        access_mode=access_mode,
        connected_by=connected_by,
        status=ConnectionStatus.PENDING,
    )
    service.full_clean()
    if not service.policy.needs_provider_authorization:
        service.status, service.connected_at = ConnectionStatus.ACTIVE, timezone.now()
    calendar_domains_check_free(domains=domain_list, organization=organization, service=service)
    service.save()
    _claim_domains(service=service, domains=domain_list)
    audit_record(
        actor=connected_by,
        target=service,
        action="connected",
        changes={"provider": provider, "access_mode": access_mode, "domains": domain_list},
    )
    # The organization's mode is a ceiling from now on, for connections people made on their own too.
    _personal_profiles_follow_ceiling(service=service, actor=connected_by)
    if service.status == ConnectionStatus.ACTIVE:
        # No Access is live at once: its people get their hosted profiles now.
        transaction.on_commit(lambda: async_task("calendars.tasks.service_provision", service.pk))
    return service


@transaction.atomic
def calendar_service_update(
    *,
    service: CalendarService,
    actor: User | None,
    domains: list[str] | str | None = None,
    access_mode: str | None = None,
) -> CalendarService:
    """Change the domains a service serves, or its access mode.

    A new mode needs new provider scopes, so the service forgets its credentials and waits for a new
    authorization (No Access needs none and is live at once).
    """
    if not service.is_live:
        raise ValidationError(
            "A disconnected calendar service cannot be changed; connect a new one.", code="disconnected"
        )
    changes: dict[str, Any] = {}
    if domains is not None:
        wanted = _domains_or_error(domains)
        current = set(service.domain_claims.values_list("domain", flat=True))
        added = [domain for domain in wanted if domain not in current]
        removed = sorted(current - set(wanted))
        if added or removed:
            calendar_domains_check_free(domains=added, organization=service.organization, service=service)
            service.domain_claims.filter(domain__in=removed).delete()
            _claim_domains(service=service, domains=added)
            changes["domains"] = {"added": added, "removed": removed}
            _personal_profiles_follow_ceiling(service=service, actor=actor)
    if access_mode is not None and access_mode != service.access_mode:
        changes["access_mode"] = [service.access_mode, access_mode]
        service.access_mode = access_mode
        service.credentials = None
        service.granted_scopes = []
        needs_authorization = policy_for(access_mode).needs_provider_authorization
        service.status = ConnectionStatus.PENDING if needs_authorization else ConnectionStatus.ACTIVE
        service.connected_at = None if needs_authorization else timezone.now()
        service.full_clean()
        service.save()
    if changes:
        audit_record(actor=actor, target=service, action="updated", changes=changes)
    return service


@transaction.atomic
def calendar_service_authorize(
    *,
    service: CalendarService,
    credentials: dict[str, Any],
    granted_scopes: list[str],
    external_id: str = "",
    actor: User | None,
) -> CalendarService:
    """The provider granted the service's scopes (Google delegation, Microsoft admin consent)."""
    if not service.policy.needs_provider_authorization:
        raise ValidationError(
            "A No Access calendar service authorizes nothing and holds no credentials.", code="no_access"
        )
    organization_connection_store_credentials(
        connection=service,
        credentials=credentials,
        granted_scopes=granted_scopes,
        external_id=external_id,
        actor=actor,
    )
    return service


@transaction.atomic
def calendar_service_disconnect(*, service: CalendarService, actor: User | None) -> CalendarService:
    """Stop serving the domains: credentials forgotten, domains released for another service, and the
    profiles that came through this service disconnected with it."""
    if not service.is_live:
        return service
    organization_connection_disconnect(connection=service, actor=actor)
    now = timezone.now()
    service.domain_claims.filter(released_at__isnull=True).update(released_at=now)
    profiles = list(service.profiles.exclude(status=ProfileStatus.DISCONNECTED))
    service.profiles.exclude(status=ProfileStatus.DISCONNECTED).update(
        status=ProfileStatus.DISCONNECTED, disconnected_at=now, updated_at=now
    )
    # The grant is gone, so the provider cannot be asked to stop its push subscriptions: they are
    # refused here until they expire.
    _forget_synced_data(profiles=profiles)
    return service


#
# Calendar profiles
#


def access_mode_of_provider_name(provider_name: str) -> str:
    for mode, names in PROVIDER_NAMES_BY_ACCESS_MODE.items():
        if provider_name in names:
            return mode
    raise ValidationError(
        "“%(name)s” is not a provider name.", code="invalid_provider_name", params={"name": provider_name}
    )


def calendar_ceiling_check(*, user: User, account_email: str, access_mode: str) -> None:
    """Refuse, in the person's words, a connection in a mode above what their organization allows (by
    their sign-in address or the calendar account's)."""
    ceiling = calendar_ceiling_for(emails=[user.email, account_email])
    if ceiling is not None and not ceiling.policy.allows(access_mode):
        raise ValidationError(ceiling.policy.ceiling_text(organization=ceiling.organization.name), code="above_ceiling")


def _refuse_organization_governed(*, platform: str, account_email: str) -> None:
    """An account the organization already connected through its own grant gets no personal connection
    beside it: applications use the organization's profile."""
    service = calendar_service_for_email(email=account_email)
    if (
        service is not None
        and service.provider == platform
        and service.policy.needs_provider_authorization
        and calendar_service_holds_grant(service)
    ):
        raise ValidationError(
            f"{service.organization.name} already connects {account_email}: applications use that connection, "
            "no personal one is needed.",
            code="organization_governed",
        )


def profile_provider_service(*, access_mode: str, provider_name: str, account_service: str) -> str:
    """Cronofy's provider_service: the account's service (gsuite, office365) where the mode reports it."""
    return (account_service or provider_name) if policy_for(access_mode).reports_account_service else provider_name


@transaction.atomic
def calendar_profile_connect(
    *,
    user: User,
    provider_name: str,
    profile_name: str,
    provider_account_id: str = "",
    provider_service: str = "",
    credentials: dict[str, Any] | None = None,
    granted_scopes: list[str] | None = None,
    calendar_service: CalendarService | None = None,
    connected_by: User | Actor | None = None,
) -> CalendarProfile:
    """Connect (or reconnect) a user's calendar account. The provider name fixes the access mode.
    The audit trail credits `connected_by`, by default the person themselves (their own consent).

    A person has one live profile per provider account: reconnecting the account, in whatever mode,
    refreshes that profile in place, so its id, calendars and history survive. Reconnecting in a lower
    mode takes the old mode's data and grant away (see `_profile_follow_mode`). A personal connection
    never goes above the organization's mode (its ceiling), nor beside the organization's own
    connection of the account. A No Access profile gets a hosted calendar.
    """
    access_mode = access_mode_of_provider_name(provider_name)
    platform = PLATFORM_BY_PROVIDER_NAME[provider_name]
    if calendar_service is not None:
        if calendar_service.access_mode != access_mode or not calendar_service.is_live:
            raise ValidationError(
                "The profile does not match its organization's calendar service.", code="service_mismatch"
            )
        credentials = None  # the service's credentials are used
    else:
        calendar_ceiling_check(user=user, account_email=profile_name, access_mode=access_mode)
        if platform is not None:
            _refuse_organization_governed(platform=platform, account_email=profile_name)
    existing = _profile_to_reconnect(
        user=user,
        provider_name=provider_name,
        profile_name=profile_name,
        provider_account_id=provider_account_id,
        calendar_service=calendar_service,
    )
    if existing is not None and existing.user_id != user.pk:
        raise ValidationError("This calendar account is already connected to another user.", code="connected_elsewhere")
    old_mode = existing.access_mode if existing else access_mode
    old_credentials = existing.credentials if existing else None
    profile = existing or CalendarProfile(user=user)
    profile.provider_name = provider_name
    profile.access_mode = access_mode
    profile.profile_name = profile_name
    profile.provider_account_id = provider_account_id
    profile.provider_service = provider_service or provider_name
    profile.credentials = credentials
    profile.granted_scopes = list(granted_scopes or [])
    profile.calendar_service = calendar_service
    profile.organization = calendar_service.organization if calendar_service else profile.organization
    profile.status = ProfileStatus.CONNECTED
    profile.last_error = ""
    profile.full_clean()
    profile.save()
    if platform is None:
        _hosted_calendar_ensure(profile)
    audit_record(
        actor=connected_by or user,
        target=profile,
        action="profile_relinked" if existing else "profile_connected",
        changes={
            "provider_name": provider_name,
            "access_mode": access_mode,
            "granted_scopes": profile.granted_scopes,
        },
    )
    if old_mode != access_mode:
        _profile_follow_mode(profile=profile, old_mode=old_mode, old_credentials=old_credentials, actor=user)
    elif old_credentials and profile.credentials is None:
        # The organization's grant took over from the person's own: theirs is not needed any more.
        grant_revocation_queue(profile=profile, credentials=old_credentials, reason="organization_took_over")
    return profile


def _profile_to_reconnect(
    *,
    user: User,
    provider_name: str,
    profile_name: str,
    provider_account_id: str,
    calendar_service: CalendarService | None,
) -> CalendarProfile | None:
    """The live profile a connection refreshes in place, locked; None when it is a new one."""
    live = CalendarProfile.objects.select_for_update().exclude(status=ProfileStatus.DISCONNECTED)
    platform = PLATFORM_BY_PROVIDER_NAME[provider_name]
    same_platform = [name for name, of in PLATFORM_BY_PROVIDER_NAME.items() if of == platform]
    if calendar_service is not None:
        # A person keeps one profile per organization service, whatever modes it has been through...
        profile = live.filter(calendar_service=calendar_service, user=user).first()
        if profile is not None:
            return profile
        # ...and the organization takes over the person's own connection of the same account.
        adopted = live.filter(
            user=user,
            calendar_service__isnull=True,
            provider_name__in=same_platform,
            profile_name__iexact=profile_name,
        ).first()
        if adopted is not None or platform is None:
            return adopted
    if platform is None:
        return live.filter(user=user, provider_name=provider_name, calendar_service__isnull=True).first()
    if provider_account_id:
        # The account in any mode, or turned into a hosted calendar by a move to No Access.
        return live.filter(
            Q(provider_name__in=same_platform) | Q(provider_name=ProfileProviderName.CRONOFY, user=user),
            provider_account_id=provider_account_id,
        ).first()
    return None


@transaction.atomic(savepoint=False)
def _profile_follow_mode(
    *, profile: CalendarProfile, old_mode: str, old_credentials: dict[str, Any] | None, actor: User | Actor | None
) -> None:
    """What a profile's change of mode does at once: nothing read under the old mode's grant is kept
    (event details and busy periods go now; the new grant syncs again), a No Access profile gets its
    hosted calendar, a personal grant replaced by a lower one (or by none) is revoked at the provider,
    and the applications' channels hear of it. Integrators' tokens follow by themselves: what they may do
    is worked out from the mode at each request."""
    old, new = policy_for(old_mode), profile.policy
    details = ExternalEventDetail.objects.filter(busy_period__calendar__profile=profile).count()
    busy = BusyPeriod.objects.filter(calendar__profile=profile).count()
    _forget_synced_data(profiles=[profile])
    if not new.syncs_busy_periods:
        profile.calendars.exclude(provider_calendar_id=f"hosted:{profile.public_id}").update(is_deleted=True)
        _hosted_calendar_ensure(profile)
    revoked = bool(old_credentials) and (new.rank < old.rank or profile.credentials is None)
    if old_credentials and revoked:  # (revoked implies old credentials: said again for the type checker)
        grant_revocation_queue(profile=profile, credentials=old_credentials, reason="mode_lowered")
    profile_access_changed_notify(profile=profile)
    if profile.status == ProfileStatus.RELINK_REQUIRED:
        # As Cronofy tells integrators of a profile that must be relinked (an organization's profiles wait
        # for the new mode's authorization; a person's own for their consent to it): reads stop meanwhile.
        profile_disconnected_notify(profile=profile)
    audit_record(
        actor=actor,
        target=profile,
        action="profile_mode_changed",
        organization=profile.organization,
        changes={
            "access_mode": [old_mode, profile.access_mode],
            "event_details_deleted": details,
            "busy_periods_deleted": busy,
            "provider_grant_revoked": revoked,
        },
    )


def _hosted_calendar_ensure(profile: CalendarProfile) -> Calendar:
    """The calendar we keep ourselves for a No Access profile (restored if it was set aside)."""
    calendar, _ = Calendar.objects.get_or_create(
        profile=profile,
        provider_calendar_id=f"hosted:{profile.public_id}",
        defaults={"name": "Calendar", "is_primary": True},
    )
    if calendar.is_deleted:
        calendar.is_deleted = False
        calendar.save(update_fields=["is_deleted"])
    return calendar


@transaction.atomic
def calendar_profile_mark_relink_required(*, profile: CalendarProfile, error: str) -> CalendarProfile:
    """The provider no longer accepts the profile's grant; the user has to relink. The provider acted."""
    profile.status = ProfileStatus.RELINK_REQUIRED
    profile.last_error = error[:2000]
    profile.save(update_fields=["status", "last_error", "updated_at"])
    audit_record(
        actor=Actor.provider(profile.platform or "provider"),
        target=profile,
        action="profile_relink_required",
        changes={"error": profile.last_error},
    )
    return profile


@transaction.atomic
def calendar_profile_discard_unknown_person(*, profile: CalendarProfile, error: str) -> None:
    """Provisioning gave a profile through the organization's service to an address the provider has no
    user for (someone who signed up here by themselves): nothing was ever read or granted through it,
    and nobody can relink it, so it goes (recorded), rather than wait as "Relink required" for ever."""
    locked = CalendarProfile.objects.select_for_update().filter(pk=profile.pk).first()
    if locked is None or locked.last_synced_at is not None:
        return
    service = locked.calendar_service  # None, without a query, for a person's own profile
    if service is None:
        return
    audit_record(
        actor=Actor.provider(locked.platform or "provider"),
        target=service,
        action="profile_not_provisioned",
        changes={"email": locked.profile_name, "reason": error[:500]},
    )
    locked.delete()


def calendar_profile_disconnect(*, profile: CalendarProfile, actor: User | Actor | None) -> CalendarProfile:
    """End a profile's calendar access: its push subscriptions are stopped at the provider while its
    credentials still work (before any transaction opens), then everything synced from it is deleted."""
    if profile.status == ProfileStatus.DISCONNECTED:
        return profile
    profile_watches_stop(profile=profile)
    with transaction.atomic():
        if profile.credentials and profile.calendar_service_id is None:
            grant_revocation_queue(profile=profile, credentials=profile.credentials, reason="disconnected")
        profile.status = ProfileStatus.DISCONNECTED
        profile.credentials = None
        profile.disconnected_at = timezone.now()
        profile.save(update_fields=["status", "credentials", "disconnected_at", "updated_at"])
        _forget_synced_data(profiles=[profile])
        audit_record(actor=actor, target=profile, action="profile_disconnected")
    return profile


def _forget_synced_data(*, profiles: list[CalendarProfile]) -> None:
    """What was read from a provider for these profiles goes when the access that allowed it goes."""
    BusyPeriod.objects.filter(calendar__profile__in=profiles).delete()
    Calendar.objects.filter(profile__in=profiles).update(
        sync_cursor="", full_synced_at=None, synced_at=None, sync_pending=False
    )
    ProviderWatch.objects.filter(profile__in=profiles, stopped_at__isnull=True).update(stopped_at=timezone.now())


@transaction.atomic
def calendar_profile_save_calendars(*, profile: CalendarProfile, calendars: list[ProviderCalendar]) -> list[Calendar]:
    """Make the profile's calendars match the provider's list: new ones added, known ones updated,
    vanished ones marked deleted (kept, so ids integrators hold stay meaningful)."""
    existing = {calendar.provider_calendar_id: calendar for calendar in profile.calendars.all()}
    seen = set()
    for item in calendars:
        seen.add(item.provider_id)
        calendar = existing.get(item.provider_id) or Calendar(profile=profile, provider_calendar_id=item.provider_id)
        calendar.name = item.name[:500]
        calendar.time_zone = item.time_zone or "Etc/UTC"
        calendar.is_primary = item.is_primary
        # Free/Busy calendars take events too (delivered as invitations), whatever the provider says of
        # this application's own access to them.
        calendar.is_readonly = item.is_readonly and profile.policy.writes_events_natively
        calendar.is_deleted = False
        calendar.integrated_conferencing_available = item.integrated_conferencing and profile.policy.native_conferencing
        calendar.save()
    profile.calendars.exclude(provider_calendar_id__in=seen).update(is_deleted=True)
    return list(profile.calendars.all())


def calendar_create(
    *, profile: CalendarProfile, name: str, color: str = "", actor: User | Actor | None = None
) -> Calendar:
    """A new calendar in a profile: at the provider for Read-Write profiles, here for hosted ones.

    The provider is called before any transaction opens: no database lock waits on the network.
    """
    if profile.platform is None:
        calendar = Calendar(profile=profile, name=name)
        calendar.provider_calendar_id = f"hosted:{calendar.public_id}"
    else:
        created = calendar_client_for_profile(profile).create_calendar(name)
        calendar = Calendar(
            profile=profile,
            provider_calendar_id=created.provider_id,
            name=created.name,
            integrated_conferencing_available=created.integrated_conferencing and profile.policy.native_conferencing,
        )
    with transaction.atomic():
        return _calendar_record(profile=profile, calendar=calendar, actor=actor or profile.user)


def _calendar_record(*, profile: CalendarProfile, calendar: Calendar, actor: User | Actor) -> Calendar:
    calendar.full_clean()
    calendar.save()
    audit_record(
        actor=actor,
        target=calendar,
        action="calendar_created",
        organization=profile.organization,
        changes={"profile": profile.public_id},
    )
    return calendar


#
# Organization connections: authorizing a service, provisioning its people, changing its mode
#


def organization_required_scopes(service: CalendarService) -> list[str]:
    """What the service's provider grant must cover: the registry's organization-calendar scopes."""
    scopes = requested_scopes(Flow.ORGANIZATION_CALENDAR, provider=service.provider, access_mode=service.access_mode)
    sign_in = provider_traits(service.provider).organization_sign_in_scopes
    return [scope for scope in scopes if scope not in sign_in]


def _provider_domains(read: Callable[[], list[str]]) -> list[str]:
    """The domains the provider lists for the customer or tenant; none when it will not say (the
    acting user is no administrator, the provider is down): the claims then wait for DNS proof."""
    try:
        return read()
    except ProviderError:
        return []


def _provider_customer(read: Callable[[], WorkspaceCustomer]) -> WorkspaceCustomer:
    """The Workspace customer as the Admin SDK describes it; nothing when it will not say (the test user
    is no administrator, Google is down): the claims then wait for DNS proof and the tenant stays unnamed."""
    try:
        return read()
    except ProviderError:
        return WorkspaceCustomer(customer_id="", domains=[])


def _lock_and_reread(service: CalendarService) -> None:
    """Lock the service's row and read it again: a disconnect or mode change that landed while the
    provider was being asked is seen (and refused) instead of overwritten."""
    service.refresh_from_db(from_queryset=CalendarService.objects.select_for_update())


def calendar_service_authorize_google(
    *, service: CalendarService, key: dict[str, Any], test_subject: str, actor: User | None
) -> CalendarService:
    """Keep a Google service account key (encrypted) once its domain-wide delegation is verified to grant
    every scope the service's mode needs; refuse, naming each missing scope, otherwise."""
    grant = OrganizationGrant.SERVICE_ACCOUNT_KEY
    if (
        provider_traits(service.provider).organization_grant is not grant
        or not service.policy.needs_provider_authorization
    ):
        raise ValidationError("This service does not authorize with a Google service account.")
    if (
        not isinstance(key, dict)
        or key.get("type") != "service_account"
        or not key.get("private_key")
        or not key.get("client_email")
    ):
        raise ValidationError("This is not a Google service account key file (JSON with type service_account).")
    if email_domain(test_subject) not in service.domain_names:
        raise ValidationError(f"Test the delegation with a user of {', '.join(service.domain_names)}.")
    scopes = organization_required_scopes(service)
    try:
        missing = delegation_missing_scopes(key, subject=test_subject, scopes=scopes)
    except (ValueError, TypeError):
        raise ValidationError("The key file's private key cannot be read.") from None
    except DelegationRefused as refusal:
        if refusal.unknown_subject:
            raise ValidationError(
                f"Google Workspace has no user {test_subject}: name an existing user of "
                f"{', '.join(service.domain_names)} to test with (Google: “{refusal.reason}”). "
                "The delegation's scopes were not checked.",
                code="unknown_test_user",
            ) from None
        raise ValidationError(
            f"Google refused the service account's key (“{refusal.reason}”): download a new key from "
            "Google Cloud and upload it.",
            code="key_refused",
        ) from None
    if missing:
        raise ValidationError(
            "The Workspace admin has not delegated every scope this access mode needs to "
            f"{key['client_email']} (client id {key.get('client_id', '?')}). Missing: " + ", ".join(missing),
            code="scopes_missing",
        )
    credentials = {"kind": grant, "key": key}
    # The customer's id names the tenant (what "Provider tenant" shows), whichever key acts in it.
    customer = _provider_customer(lambda: workspace_customer(key, subject=test_subject))
    # Google was asked before the transaction opens; the grant and the domains it proves are kept together.
    with transaction.atomic(durable=True):
        _lock_and_reread(service)
        calendar_service_authorize(
            service=service,
            credentials=credentials,
            granted_scopes=scopes,
            actor=actor,
            external_id=customer.customer_id,
        )
        calendar_service_prove_domains_by_provider(service=service, provider_domains=customer.domains, actor=actor)
        transaction.on_commit(lambda: async_task("calendars.tasks.service_provision", service.pk))
    return service


def calendar_service_authorize_microsoft(
    *, service: CalendarService, tenant_id: str, actor: User | None
) -> CalendarService:
    """After Microsoft's admin consent: verify the app-only token carries every permission the mode needs."""
    grant = OrganizationGrant.ADMIN_CONSENT
    if (
        provider_traits(service.provider).organization_grant is not grant
        or not service.policy.needs_provider_authorization
    ):
        raise ValidationError("This service does not authorize with Microsoft admin consent.")
    client_id, secret = microsoft_app(service.access_mode)
    roles = consented_application_permissions(client_id=client_id, client_secret=secret, tenant_id=tenant_id)
    missing = [scope for scope in organization_required_scopes(service) if scope not in roles]
    if missing:
        raise ValidationError(
            "The tenant's consent does not include every permission this access mode needs. "
            "Missing: " + ", ".join(missing)
        )
    listed = _provider_domains(
        lambda: tenant_verified_domains(client_id=client_id, client_secret=secret, tenant_id=tenant_id)
    )
    # Microsoft was asked before the transaction opens; the grant and the domains it proves are kept together.
    with transaction.atomic(durable=True):
        _lock_and_reread(service)
        calendar_service_authorize(
            service=service,
            credentials={"kind": grant, "tenant_id": tenant_id},
            granted_scopes=roles,
            external_id=tenant_id,
            actor=actor,
        )
        calendar_service_prove_domains_by_provider(service=service, provider_domains=listed, actor=actor)
        transaction.on_commit(lambda: async_task("calendars.tasks.service_provision", service.pk))
    return service


@transaction.atomic
def calendar_service_provision(*, service: CalendarService) -> list[CalendarProfile]:
    """Give every active account of the service's domains whose address was proven a profile through the
    organization's connection, without their own consent (that is what the organization connected for).
    An unproven address gets nothing: for No Access the address is the only identity there is. Their
    first syncs follow."""
    if service.status != ConnectionStatus.ACTIVE:
        return []
    served_addresses = Q()
    proven = service.domain_claims.filter(proven_at__isnull=False, released_at__isnull=True)
    for domain in proven.values_list("domain", flat=True):
        served_addresses |= Q(email__iendswith=f"@{domain}")
    if not served_addresses:
        return []  # unproven claims serve nobody
    users = list(User.objects.filter(served_addresses, verified_address(), is_active=True).distinct().order_by("pk"))
    return calendar_profiles_provision(service=service, users=users)


def calendar_service_person_known(*, service: CalendarService, email: str) -> bool:
    """Whether the provider has this address as a user of the organization's customer or tenant: the
    organization's grant, acting for them, lists their calendars. Someone who merely signed up here with
    an address of the domain is nobody at the provider, and the grant can act for nobody of that name.
    Raises ProviderError when the provider cannot say (down, throttling)."""
    if not service.policy.needs_provider_authorization:
        return True  # No Access: a hosted calendar, nothing at the provider
    try:
        calendar_client_for_service(service, mailbox=email).list_calendars()
    except ProviderNotFound:  # Google's "Invalid email or User ID", Graph's 404 for the mailbox
        return False
    return True


def calendar_service_provision_person(*, service: CalendarService, user: User) -> CalendarProfile:
    """One person's profile through the organization's connection, now (an application's consent that
    attaches to it should not wait for provisioning to reach them); theirs if they have one already.
    A newcomer the provider does not know (someone who signed up here with an address of the domain)
    gets none: a profile the organization's grant cannot act for would only ever wait for a relink.
    The provider is asked before any transaction opens; the profile is then made in one."""
    has_one = service.profiles.filter(user=user).exclude(status=ProfileStatus.DISCONNECTED).exists()
    if not has_one:
        try:
            known = calendar_service_person_known(service=service, email=user.email)
        except ProviderError:
            raise ValidationError(
                f"{service.get_provider_display()} cannot be asked right now; try again shortly.",
                code="provider_unavailable",
            ) from None
        if not known:
            raise ValidationError(
                f"{service.organization.name}'s {service.get_provider_display()} has no user {user.email}, so "
                "its connection cannot reach a calendar of yours. Ask your IT administrator to add you there.",
                code="not_a_provider_user",
            )
    with transaction.atomic():
        profile = next(
            (p for p in calendar_profiles_provision(service=service, users=[user]) if p.user_id == user.pk), None
        )
    if profile is None:
        raise ValidationError(
            "This calendar account is already connected to another person here.", code="connected_elsewhere"
        )
    return profile


@transaction.atomic(durable=True)
def calendar_service_change_mode(
    *, service: CalendarService, access_mode: str, actor: User | None
) -> tuple[CalendarService, ModeChangeImpact | None]:
    """An explicit switch of mode, completed at once. The provider grant is dropped (the new mode needs
    its own); the profiles through the service follow the new mode (event details and busy periods read
    under the old one deleted now, channels told); people's own connections above the new mode come
    down to it; integrators' tokens follow at their next request. Events already booked stay. Returns
    the service and the impact recorded in its history (None when nothing changed)."""
    service = CalendarService.objects.select_for_update().select_related("organization").get(pk=service.pk)
    if access_mode == service.access_mode:
        return service, None
    impact = calendar_service_mode_change_impact(service=service, access_mode=access_mode)
    old_mode = service.access_mode
    calendar_service_update(service=service, actor=actor, access_mode=access_mode)
    policy = service.policy
    provider_name = profile_provider_name(platform=service.provider, access_mode=access_mode)
    waiting = ProfileStatus.RELINK_REQUIRED if policy.needs_provider_authorization else ProfileStatus.CONNECTED
    for profile in service.profiles.select_for_update().exclude(status=ProfileStatus.DISCONNECTED):
        previous = profile.access_mode
        profile.access_mode, profile.provider_name, profile.status = access_mode, provider_name, waiting
        profile.provider_service = profile_provider_service(
            access_mode=access_mode, provider_name=provider_name, account_service=profile.provider_service
        )
        profile.save(update_fields=["access_mode", "provider_name", "status", "provider_service", "updated_at"])
        _profile_follow_mode(profile=profile, old_mode=previous, old_credentials=None, actor=actor)
    _personal_profiles_follow_ceiling(service=service, actor=actor)
    audit_record(
        actor=actor,
        target=service,
        action="access_mode_changed",
        changes={"access_mode": [old_mode, access_mode], "impact": impact.as_record()},
    )
    return service, impact


@transaction.atomic(savepoint=False)
def _personal_profiles_follow_ceiling(*, service: CalendarService, actor: User | Actor | None) -> list[CalendarProfile]:
    """People's own connections above the mode their organization now allows come down to it: their
    grant is revoked and what it read deleted; a Free/Busy one waits for the person to reconnect with
    Free/Busy scopes, a No Access one becomes their hosted calendar."""
    policy = service.policy
    followed = []
    for profile in profiles_above_ceiling(service=service, access_mode=service.access_mode).select_for_update(
        of=("self",)
    ):
        previous, credentials = profile.access_mode, profile.credentials
        platform = profile.platform if policy.needs_provider_authorization else None
        profile.provider_name = profile_provider_name(platform=platform, access_mode=service.access_mode)
        profile.access_mode = service.access_mode
        profile.provider_service = profile_provider_service(
            access_mode=service.access_mode, provider_name=profile.provider_name, account_service=""
        )
        profile.credentials, profile.granted_scopes = None, []
        needs_relink = policy.needs_provider_authorization
        profile.status = ProfileStatus.RELINK_REQUIRED if needs_relink else ProfileStatus.CONNECTED
        profile.full_clean()
        profile.save()
        _profile_follow_mode(profile=profile, old_mode=previous, old_credentials=credentials, actor=actor)
        followed.append(profile)
    return followed


@transaction.atomic(durable=True)
def calendar_profile_change_mode(*, profile: CalendarProfile, access_mode: str, actor: User) -> CalendarProfile:
    """A person lowers their own connection to a mode that needs nothing from the provider (No Access)
    at once: the grant is revoked, what it read deleted, the profile becomes their hosted calendar with
    the same id. Any other change needs the provider's consent for the new mode's scopes (the caller
    sends them there, and the reconnection replaces this profile). The organization's connections
    change only with the organization's mode."""
    profile = CalendarProfile.objects.select_for_update(of=("self",)).select_related("organization").get(pk=profile.pk)
    if profile.calendar_service_id is not None:
        governing = profile.organization.name if profile.organization is not None else "Your organization"
        raise ValidationError(f"{governing} manages this calendar's access mode.", code="organization_governed")
    if profile.status == ProfileStatus.DISCONNECTED:
        raise ValidationError("This calendar is disconnected; connect it again.", code="disconnected")
    if access_mode == profile.access_mode:
        return profile
    calendar_ceiling_check(user=profile.user, account_email=profile.profile_name, access_mode=access_mode)
    target = policy_for(access_mode)
    if target.needs_provider_authorization or target.rank > profile.policy.rank:
        raise ValidationError(
            "This change needs your calendar provider's consent for the new access.", code="needs_provider_consent"
        )
    previous, credentials = profile.access_mode, profile.credentials
    profile.provider_name = profile_provider_name(platform=None, access_mode=access_mode)
    profile.access_mode = access_mode
    profile.provider_service = profile.provider_name
    profile.credentials, profile.granted_scopes = None, []
    profile.status = ProfileStatus.CONNECTED
    profile.full_clean()
    profile.save()
    _profile_follow_mode(profile=profile, old_mode=previous, old_credentials=credentials, actor=actor)
    return profile


def profiles_sync_queue(*, profiles: Iterable[CalendarProfile], full: bool = False) -> int:
    """Queue a sync of each syncing profile (the admin's "sync now"); returns how many were queued."""
    queued = 0
    for profile in profiles:
        if profile.syncs_busy_periods:
            transaction.on_commit(partial(async_task, "calendars.tasks.profile_sync", profile.pk, full))
            queued += 1
    return queued


def calendar_profile_revoke_for_application(*, profile: CalendarProfile, grant: Grant) -> CalendarProfile:
    """An application gives up one profile of the account (`POST /v1/profiles/{id}/revoke`): it no
    longer reaches it. The provider grant itself goes only when nothing else uses the profile: no other
    application of the account still reaches it, and it does not come through an organization."""
    with transaction.atomic():
        locked = Grant.objects.select_for_update().select_related("application").get(pk=grant.pk)
        if profile.pk not in locked.revoked_profile_ids:
            locked.revoked_profile_ids = [*locked.revoked_profile_ids, profile.pk]
            locked.save(update_fields=["revoked_profile_ids", "updated_at"])
            audit_record(
                actor=Actor.of_application(locked.application, on_behalf_of=profile.user),
                target=profile,
                action="profile_revoked_for_application",
                changes={"application": locked.application.name},
            )
        others = Grant.objects.filter(user_id=profile.user_id, revoked_at__isnull=True).values_list(
            "revoked_profile_ids", flat=True
        )
        still_used = profile.calendar_service_id is not None or any(profile.pk not in ids for ids in others)
    if not still_used:
        calendar_profile_disconnect(
            profile=profile, actor=Actor.of_application(grant.application, on_behalf_of=profile.user)
        )
    return profile


def calendar_profile_record_provider_failure(
    *, profile: CalendarProfile, error: ProviderError, retry_at: datetime | None
) -> None:
    """A provider failure a later attempt may cure (throttling, an outage): kept on the profile, and on
    the organization's service it comes through, for the console. The status does not change."""
    when = f" Trying again after {retry_at:%Y-%m-%d %H:%M:%S} UTC." if retry_at else " The next poll tries again."
    text = f"{error}.{when}"[:2000]
    CalendarProfile.objects.filter(pk=profile.pk).update(last_error=text, updated_at=timezone.now())
    if profile.calendar_service_id is not None:
        CalendarService.objects.filter(pk=profile.calendar_service_id).update(last_error=text)


def calendar_service_mark_failed(*, service: CalendarService, error: str) -> None:
    """The provider refused the organization's own grant (consent withdrawn, key revoked): every person
    of the service is affected, so the service needs attention, once."""
    if service.status == ConnectionStatus.ACTIVE:
        organization_connection_mark_failed(connection=service, error=error)


#
# Proving domain claims: by the provider, by DNS, or vouched for by the platform's operator
#


@transaction.atomic(savepoint=False)
def _domain_prove(*, claim: CalendarServiceDomain, proof: str, actor: User | Actor | None) -> CalendarServiceDomain:
    """Make the claim count, unless another live service proved the domain first (then it stays
    unproven and the refusal names no one)."""
    locked = CalendarServiceDomain.objects.select_for_update().select_related("service").get(pk=claim.pk)
    if locked.is_proven or locked.released_at is not None:
        return locked
    taken = CalendarServiceDomain.objects.filter(
        domain=locked.domain, released_at__isnull=True, proven_at__isnull=False
    ).exclude(pk=locked.pk)
    if taken.exists():
        raise ValidationError(DOMAIN_IN_USE % {"domain": locked.domain}, code="domain_in_use")
    locked.proven_at, locked.proof = timezone.now(), proof
    try:
        with transaction.atomic():
            locked.save(update_fields=["proven_at", "proof"])
    except IntegrityError:
        raise ValidationError(DOMAIN_IN_USE % {"domain": locked.domain}, code="domain_in_use") from None
    audit_record(
        actor=actor,
        target=locked.service,
        action="domain_proven",
        changes={"domain": locked.domain, "proof": proof},
    )
    # The service's mode is a ceiling on the domain's people from now on, their own connections too.
    _personal_profiles_follow_ceiling(service=locked.service, actor=actor)
    if locked.service.status == ConnectionStatus.ACTIVE:
        # The domain's people are the service's from now on.
        transaction.on_commit(partial(async_task, "calendars.tasks.service_provision", locked.service_id))
    return locked


@transaction.atomic
def calendar_service_prove_domains_by_provider(
    *, service: CalendarService, provider_domains: list[str], actor: User | Actor | None
) -> list[str]:
    """The provider listed these domains as its customer's or tenant's: the service's claims on them are
    proven. Returns the domains proven now; claims the provider does not list stay unproven."""
    listed = {domain.lower().rstrip(".") for domain in provider_domains}
    proven = []
    for claim in service.domain_claims.filter(released_at__isnull=True, proven_at__isnull=True):
        if claim.domain in listed:
            try:
                # A savepoint of its own: `_domain_prove` is a savepoint-less helper, and a refusal caught
                # without one would leave the whole transaction unusable.
                with transaction.atomic():
                    _domain_prove(claim=claim, proof=DomainProof.PROVIDER, actor=actor)
            except ValidationError:
                continue  # in use by another service: stays unproven here
            proven.append(claim.domain)
    return proven


def calendar_domain_check_dns(*, claim: CalendarServiceDomain, actor: User | Actor | None) -> CalendarServiceDomain:
    """Look for the claim's TXT record on the domain; proven when it is there. DNS is asked before any
    transaction opens."""
    try:
        published = domain_txt_records(claim.domain)
    except DomainLookupFailed as failure:
        raise ValidationError(f"DNS could not be asked about {claim.domain}: {failure}.", code="dns") from None
    if claim.dns_record not in published:
        raise ValidationError(
            f"{claim.domain} has no TXT record “{claim.dns_record}” yet (DNS changes can take a while).",
            code="dns_missing",
        )
    with transaction.atomic():
        return _domain_prove(claim=claim, proof=DomainProof.DNS, actor=actor)


@transaction.atomic
def calendar_domain_vouch(*, claim: CalendarServiceDomain, actor: User) -> CalendarServiceDomain:
    """The platform's operator (a superuser) vouches for a claim checked by other means."""
    if not actor.is_superuser:
        raise ValidationError("Only the platform's operator vouches for a domain.", code="operator_only")
    return _domain_prove(claim=claim, proof=DomainProof.OPERATOR, actor=actor)
