"""Reads for calendar services, profiles and calendars."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Min, Q, QuerySet

from accounts.models import ConnectionStatus, Grant, User
from calendars.access_modes import lowest_mode, policy_for, withheld_api_scopes_for
from calendars.choices import ProfileStatus
from calendars.models import (
    Calendar,
    CalendarProfile,
    CalendarService,
    CalendarServiceDomain,
    ProviderWatch,
)
from core.domains import email_domain


def calendar_domains_claimed_elsewhere(
    *, domains: list[str], organization_id: int, service: CalendarService | None = None
) -> list[CalendarServiceDomain]:
    """Live claims on these domains that stand in the way of `service`: another service's proven claim
    (the domain is in use), or any claim of another service of the same organization. Another
    organization's unproven claim stands in nobody's way."""
    claims = (
        CalendarServiceDomain.objects.filter(domain__in=domains, released_at__isnull=True)
        .filter(Q(proven_at__isnull=False) | Q(service__organization_id=organization_id))
        .select_related("service__organization")
    )
    if service is not None and service.pk is not None:
        claims = claims.exclude(service=service)
    return list(claims)


def calendar_service_for_email(*, email: str) -> CalendarService | None:
    """The live calendar service that serves this address's domain, if any: the one whose claim on it
    is proven (unproven claims serve nobody)."""
    claim = (
        CalendarServiceDomain.objects.filter(
            domain=email_domain(email), released_at__isnull=True, proven_at__isnull=False
        )
        .select_related("service__organization")
        .first()
    )
    return claim.service if claim else None


def calendar_ceiling_for(*, emails: Iterable[str]) -> CalendarService | None:
    """The organization's calendar service whose mode bounds a person with these addresses (their sign-in
    and the calendar account's): of the live services serving their domains, the one of lowest mode.
    Only proven claims count: an unproven claim serves nobody, so it bounds nobody either."""
    domains = sorted({email_domain(email) for email in emails if email and "@" in email})
    if not domains:
        return None
    services = {
        claim.service.pk: claim.service
        for claim in CalendarServiceDomain.objects.filter(
            domain__in=domains, released_at__isnull=True, proven_at__isnull=False
        )
        .exclude(service__status=ConnectionStatus.DISCONNECTED)
        .select_related("service__organization")
    }
    lowest = lowest_mode(service.access_mode for service in services.values())
    return next((service for service in services.values() if service.access_mode == lowest), None)


def calendar_service_holds_grant(service: CalendarService) -> bool:
    """The organization connected its people already: No Access is live at once, the other modes once
    the provider authorized them."""
    return service.status == ConnectionStatus.ACTIVE


def withheld_api_scopes_of(user: User, grant: Grant | None = None) -> frozenset[str]:
    """The Cronofy scopes the person's calendars withhold from a grant right now (two queries): its
    profiles' modes (not those it gave up), under the organization's ceiling."""
    profiles = CalendarProfile.objects.filter(user_id=user.pk).exclude(status=ProfileStatus.DISCONNECTED)
    if grant is not None and grant.revoked_profile_ids:
        profiles = profiles.exclude(pk__in=grant.revoked_profile_ids)
    modes = set(profiles.values_list("access_mode", flat=True))
    ceiling = calendar_ceiling_for(emails=[user.email])
    withheld = withheld_api_scopes_for(modes=modes, ceiling=ceiling.access_mode if ceiling else None)
    service_account = grant.service_account if grant is not None and grant.service_account_id is not None else None
    if service_account is not None and service_account.access_mode:
        # Enterprise Connect with free_busy_write: the admin's choice of mode bounds every delegated grant.
        withheld |= policy_for(service_account.access_mode).withheld_api_scopes
    return withheld


def calendar_profiles_of_user(*, user_id: int, grant: Grant | None = None) -> QuerySet[CalendarProfile]:
    """The account's profiles; through an application's grant, those it has not given up."""
    profiles = CalendarProfile.objects.filter(user_id=user_id).select_related("calendar_service", "organization")
    if grant is not None:
        profiles = profiles.exclude(pk__in=grant.revoked_profile_ids)
    return profiles


def calendars_of_user(
    *, user_id: int, calendar_ids: list[str] | None = None, grant: Grant | None = None
) -> QuerySet[Calendar]:
    """The account's live calendars (of connected or relink-waiting profiles), optionally some of them;
    through an application's grant, only those of profiles it has not given up."""
    calendars = Calendar.objects.filter(profile__user_id=user_id, is_deleted=False).exclude(
        profile__status=ProfileStatus.DISCONNECTED
    )
    if grant is not None:
        calendars = calendars.exclude(profile_id__in=grant.revoked_profile_ids)
    if calendar_ids:
        calendars = calendars.filter(public_id__in=calendar_ids)
    return calendars


def calendar_service_sync_state(*, service: CalendarService) -> dict[str, Any]:
    """How sync is going for the people of a service, in three queries."""
    profiles = service.profiles.exclude(status=ProfileStatus.DISCONNECTED)
    calendars = Calendar.objects.filter(profile__in=profiles, is_deleted=False).exclude(
        provider_calendar_id__startswith="hosted:"
    )
    counts = calendars.aggregate(
        calendars=Count("pk"),
        never_synced=Count("pk", filter=Q(synced_at__isnull=True)),
        errors=Count("pk", filter=~Q(sync_error="")),
        oldest_sync=Min("synced_at"),
    )
    profile_counts = profiles.aggregate(
        profiles=Count("pk"), relink=Count("pk", filter=Q(status=ProfileStatus.RELINK_REQUIRED))
    )
    next_renewal = ProviderWatch.objects.filter(profile__in=profiles, stopped_at__isnull=True).aggregate(
        first=Min("expires_at")
    )["first"]
    return {**counts, **profile_counts, "next_renewal": next_renewal}


def people_served_by(*, organization_ids: frozenset[int] | set[int]) -> QuerySet[User]:
    """People with a live calendar profile through a service of these organizations."""
    return User.objects.filter(
        calendar_profiles__organization_id__in=organization_ids,
        calendar_profiles__status__in=[ProfileStatus.CONNECTED, ProfileStatus.RELINK_REQUIRED],
    ).distinct()


@dataclass(frozen=True)
class OwnConnection:
    """A calendar a person connected themselves (through an integrator's consent), as an admin sees it:
    the account, its mode and status, the applications whose live grant reaches it, and the mode the
    organization allows for it (None when no organization's service serves the account's domain)."""

    profile: CalendarProfile
    grants: list[Grant]
    ceiling: CalendarService | None

    @property
    def within_ceiling(self) -> bool:
        return self.ceiling is None or self.profile.policy.rank <= self.ceiling.policy.rank


def own_connections_of(*, user: User) -> list[OwnConnection]:
    """The person's own connections (not through an organization's service), with the applications that
    reach each, live ones first. A fixed number of queries, plus one per connection for its ceiling."""
    profiles = list(
        CalendarProfile.objects.filter(user=user, calendar_service__isnull=True)
        .order_by("status", "-connected_at")
        .select_related("organization")
    )
    grants = list(
        Grant.objects.filter(user=user, revoked_at__isnull=True).select_related("application").order_by("created_at")
    )
    return [
        OwnConnection(
            profile=profile,
            grants=[grant for grant in grants if grant.covers_profile(profile.pk)],
            ceiling=calendar_ceiling_for(emails=[user.email, profile.profile_name]),
        )
        for profile in profiles
    ]
