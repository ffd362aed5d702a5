"""Reads for conferencing: a person's conferencing profiles, which one an event uses, and what the
console shows of a service."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from accounts.models import ConnectionStatus, Membership, User
from accounts.selectors import organization_lineage_ids
from calendars.choices import ProfileStatus
from conferencing.models import ConferencingMeeting, ConferencingProfile, ConferencingService, MeetingState

# When an organization marked no default, the order "default" tries its services in.
PROVIDER_PREFERENCE = ("zoom", "webex", "ms_teams", "google_meet")


def conferencing_profiles_of_user(*, user_id: int) -> QuerySet[ConferencingProfile]:
    """The person's conferencing profiles that still exist (connected, or waiting to be relinked)."""
    return (
        ConferencingProfile.objects.filter(user_id=user_id)
        .exclude(status=ProfileStatus.DISCONNECTED)
        .order_by("provider", "profile_name", "pk")
    )


def conferencing_profile_of_organizer(*, user: User, profile_id: str) -> ConferencingProfile | None:
    """One of the organizer's own conferencing profiles, by its public id."""
    return conferencing_profiles_of_user(user_id=user.pk).select_related("service").filter(public_id=profile_id).first()


def _service_of(profile: ConferencingProfile) -> ConferencingService:
    """The organization's service of a profile the query below picked for having one."""
    if profile.service is None:
        raise ValueError(f"Conferencing profile {profile.pk} has no organization service.")
    return profile.service


def conferencing_default_profile(*, user: User) -> ConferencingProfile | None:
    """What `conferencing.profile_id: "default"` uses for this organizer: their profile at their
    organization's default conferencing service (the nearest organization up the tree that has one),
    else at any of its live services in a fixed order. None when no organization service knows them."""
    profiles = list(
        ConferencingProfile.objects.filter(
            user=user,
            status=ProfileStatus.CONNECTED,
            service__isnull=False,
            service__status=ConnectionStatus.ACTIVE,
        ).select_related("service")
    )
    if not profiles:
        return None
    own = set(Membership.objects.filter(user=user).values_list("organization_id", flat=True))
    nearest = {organization_id: 0 for organization_id in own}
    for profile in profiles:
        nearest.setdefault(_service_of(profile).organization_id, 1)

    def rank(profile: ConferencingProfile) -> tuple[int, int, int]:
        service = _service_of(profile)
        return (
            0 if service.is_default else 1,
            nearest.get(service.organization_id, 2),
            PROVIDER_PREFERENCE.index(service.provider),
        )

    return min(profiles, key=rank)


def conferencing_services_for_person(*, user: User) -> QuerySet[ConferencingService]:
    """The live, verified services of the person's organizations and every unit above them."""
    organizations = set(Membership.objects.filter(user=user).values_list("organization_id", flat=True))
    if not organizations:
        return ConferencingService.objects.none()
    return ConferencingService.objects.filter(
        organization_id__in=organization_lineage_ids(organization_ids=organizations), status=ConnectionStatus.ACTIVE
    )


def conferencing_service_overview(*, service: ConferencingService) -> dict[str, Any]:
    """People linked, meetings held and failing, for the console."""
    profiles = service.profiles.aggregate(
        linked=Count("pk", filter=Q(status=ProfileStatus.CONNECTED)),
        unlinked=Count("pk", filter=Q(status=ProfileStatus.DISCONNECTED)),
    )
    meetings = ConferencingMeeting.objects.filter(profile__service=service).aggregate(
        live=Count("pk", filter=Q(state=MeetingState.CREATED)),
        failing=Count("pk", filter=Q(state=MeetingState.PENDING) & ~Q(last_error="")),
    )
    last_failure = (
        ConferencingMeeting.objects.filter(profile__service=service)
        .exclude(last_error="")
        .order_by("-updated_at")
        .values("last_error", "updated_at")
        .first()
    )
    return {**profiles, **meetings, "last_failure": last_failure}
