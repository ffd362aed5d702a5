"""What changing a calendar service's access mode does, worked out before the admin confirms it.

The preview and the service that carries the change out read the same facts: the people whose
profiles follow the service, people's own connections above the new mode, what integrators'
applications may do before and after, and the data deleted at once. Apps above calendars add what
only they know (bookings: future events whose delivery moves between native writes and email) by
registering a contributor in their apps.py ready().
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from accounts.models import Grant
from calendars.access_modes import AccessModePolicy, policy_for
from calendars.choices import ProfileStatus
from calendars.models import BusyPeriod, Calendar, CalendarProfile, CalendarService, ExternalEventDetail
from core.choices import AccessMode

# A higher app's part of the impact: given the affected profiles' ids and the old and new policies,
# plain-language lines for the admin (none when it has nothing to say).
ImpactContributor = Callable[[list[int], AccessModePolicy, AccessModePolicy], list[str]]
_CONTRIBUTORS: list[ImpactContributor] = []

PEOPLE_LISTED = 20


def register_mode_change_impact(contributor: ImpactContributor) -> None:
    _CONTRIBUTORS.append(contributor)


@dataclass(frozen=True)
class ApplicationChange:
    """An integrator's application whose access to the service's people shrinks or grows."""

    application: str
    people: int
    loses: list[str]
    gains: list[str]


@dataclass(frozen=True)
class ModeChangeImpact:
    service: str
    old_mode: str
    new_mode: str
    people: int
    people_listed: list[str]
    own_connections_lowered: list[str]
    applications: list[ApplicationChange]
    event_details_deleted: int
    busy_periods_deleted: int
    calendars_set_aside: int
    needs_authorization: bool
    notes: list[str] = field(default_factory=list)

    @property
    def old_label(self) -> str:
        return policy_for(self.old_mode).label

    @property
    def new_label(self) -> str:
        return policy_for(self.new_mode).label

    @property
    def lowers(self) -> bool:
        return policy_for(self.new_mode).rank < policy_for(self.old_mode).rank

    def as_record(self) -> dict[str, object]:
        """For the service's history: counts and names, never a secret or an event's detail."""
        return {
            "people": self.people,
            "own_connections_lowered": self.own_connections_lowered,
            "applications": [
                {"application": a.application, "people": a.people, "loses": a.loses, "gains": a.gains}
                for a in self.applications
            ],
            "event_details_deleted": self.event_details_deleted,
            "busy_periods_deleted": self.busy_periods_deleted,
            "calendars_set_aside": self.calendars_set_aside,
            "notes": self.notes,
        }


def _served(service: CalendarService, field_name: str) -> Q:
    """Addresses of the domains the service serves: its proven, unreleased claims."""
    condition = Q(pk__in=[])
    served = service.domain_claims.filter(released_at__isnull=True, proven_at__isnull=False)
    for domain in served.values_list("domain", flat=True):
        condition |= Q(**{f"{field_name}__iendswith": f"@{domain}"})
    return condition


def profiles_above_ceiling(*, service: CalendarService, access_mode: str) -> QuerySet[CalendarProfile]:
    """People's own live connections (not through an organization) on the service's domains, by their
    sign-in or the calendar account's address, in a mode above `access_mode`."""
    ceiling = policy_for(access_mode)
    above = [mode for mode in AccessMode.values if not ceiling.allows(mode)]
    return (
        CalendarProfile.objects.filter(calendar_service__isnull=True, access_mode__in=above)
        .filter(_served(service, "user__email") | _served(service, "profile_name"))
        .exclude(status=ProfileStatus.DISCONNECTED)
        .order_by("pk")
    )


def calendar_service_mode_change_impact(*, service: CalendarService, access_mode: str) -> ModeChangeImpact:
    """What switching `service` to `access_mode` would do, in a fixed number of queries."""
    old, new = service.policy, policy_for(access_mode)
    through_service = list(
        service.profiles.exclude(status=ProfileStatus.DISCONNECTED).values_list("pk", "user_id", "user__email")
    )
    own = list(
        profiles_above_ceiling(service=service, access_mode=access_mode).values_list("pk", "user_id", "profile_name")
    )
    profile_ids = [pk for pk, _, _ in through_service + own]
    user_ids = {user_id for _, user_id, _ in through_service + own}
    emails = sorted({email for _, _, email in through_service})
    notes = [line for contributor in _CONTRIBUTORS for line in contributor(profile_ids, old, new)]
    return ModeChangeImpact(
        service=str(service),
        old_mode=service.access_mode,
        new_mode=access_mode,
        people=len({user_id for _, user_id, _ in through_service}),
        people_listed=emails[:PEOPLE_LISTED],
        own_connections_lowered=sorted(name for _, _, name in own),
        applications=_application_changes(user_ids=user_ids, old=old, new=new),
        event_details_deleted=ExternalEventDetail.objects.filter(
            busy_period__calendar__profile_id__in=profile_ids
        ).count(),
        busy_periods_deleted=BusyPeriod.objects.filter(calendar__profile_id__in=profile_ids).count(),
        calendars_set_aside=0
        if new.syncs_busy_periods
        else Calendar.objects.filter(profile_id__in=profile_ids, is_deleted=False)
        .exclude(provider_calendar_id__startswith="hosted:")
        .count(),
        needs_authorization=new.needs_provider_authorization,
        notes=notes,
    )


def _application_changes(
    *, user_ids: set[int], old: AccessModePolicy, new: AccessModePolicy
) -> list[ApplicationChange]:
    """Per application holding grants of these people: what its grants do under the old mode and the new."""
    people: dict[str, set[int]] = defaultdict(set)
    loses: dict[str, dict[str, None]] = defaultdict(dict)
    gains: dict[str, dict[str, None]] = defaultdict(dict)
    for name, user_id, scopes in Grant.objects.filter(user_id__in=user_ids, revoked_at__isnull=True).values_list(
        "application__name", "user_id", "scopes"
    ):
        before, after = old.effective_api_scopes(scopes), new.effective_api_scopes(scopes)
        people[name].add(user_id)
        loses[name].update(dict.fromkeys(old.describe_exactly(before - after)))
        gains[name].update(dict.fromkeys(new.describe_exactly(after - before)))
    return [
        ApplicationChange(application=name, people=len(people[name]), loses=list(loses[name]), gains=list(gains[name]))
        for name in sorted(people)
        if loses[name] or gains[name]
    ]
