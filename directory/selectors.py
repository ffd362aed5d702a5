"""Reads for directory services: the domains a directory may onboard into, where a person goes, rooms."""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.models import ConnectionStatus, Organization, User
from accounts.selectors import organization_tree_ids
from calendars.models import CalendarService, CalendarServiceDomain
from directory.models import PATH_UNIT_PROVIDERS, DirectoryResource, DirectoryService, DirectoryUnitMapping

# Google resource calendars have their own domain: recognisable even before any directory lists them.
GOOGLE_RESOURCE_DOMAIN = "resource.calendar.google.com"


@dataclass
class Placement:
    """What a round needs to place people: the domains it accepts, the calendar service serving each
    domain, the unit mapping, and the default unit. Read once per round."""

    organization_ids: frozenset[int]
    accepted_domains: frozenset[str]
    calendar_services: dict[str, CalendarService] = field(default_factory=dict)
    mappings: list[tuple[str, Organization]] = field(default_factory=list)
    default_unit: Organization | None = None
    path_units: bool = False  # Google's units are paths: /Sales covers /Sales/EMEA

    def accepts(self, email: str) -> bool:
        return "@" in email and email.rsplit("@", 1)[1] in self.accepted_domains

    def unit_for(self, unit: str) -> Organization:
        """The Organizational Unit for what the directory says: the longest mapped path containing it
        (Google), the mapped department (case-insensitive), else the default unit."""
        wanted = unit.strip()
        best: tuple[int, Organization] | None = None
        for source, organization in self.mappings:
            if self.path_units:
                matches = wanted == source or wanted.startswith(source.rstrip("/") + "/")
            else:
                matches = wanted.casefold() == source.casefold()
            if matches and (best is None or len(source) > best[0]):
                best = (len(source), organization)
        return best[1] if best else self.default_unit  # type: ignore[return-value]

    def calendar_service_for(self, email: str) -> CalendarService | None:
        return self.calendar_services.get(email.rsplit("@", 1)[-1])


def directory_placement(*, service: DirectoryService, provider_domains: list[str]) -> Placement:
    """The domains a directory accepts are those its organization's calendar services have proven plus
    those the provider itself reports as verified; anybody else it lists is not onboarded (an unproven
    claim on a domain proves nothing)."""
    tree = organization_tree_ids(organization=service.organization)
    claims = CalendarServiceDomain.objects.filter(
        released_at__isnull=True, proven_at__isnull=False, service__organization_id__in=tree
    ).select_related("service__organization")
    calendar_services = {claim.domain: claim.service for claim in claims}
    return Placement(
        organization_ids=tree,
        accepted_domains=frozenset(calendar_services) | frozenset(d.lower() for d in provider_domains),
        calendar_services=calendar_services,
        mappings=[
            (mapping.source, mapping.organization)
            for mapping in DirectoryUnitMapping.objects.filter(
                service=service, organization_id__in=tree
            ).select_related("organization")
        ],
        default_unit=service.default_unit if service.default_unit_id in tree else service.organization,
        path_units=service.provider in PATH_UNIT_PROVIDERS,
    )


def room_addresses_among(*, emails: list[str]) -> set[str]:
    """Which of these addresses are rooms or resources: listed by a live directory (Google calendar
    resources, Microsoft places), or on Google's resource domain. Lower-case."""
    wanted = {email.lower() for email in emails}
    if not wanted:
        return set()
    rooms = {email for email in wanted if email.endswith(f"@{GOOGLE_RESOURCE_DOMAIN}")}
    rooms |= set(
        DirectoryResource.objects.filter(
            email__in=wanted, removed_at__isnull=True, service__status=ConnectionStatus.ACTIVE
        ).values_list("email", flat=True)
    )
    return rooms


def directory_resources_of_organization(*, organization: Organization) -> list[DirectoryResource]:
    """The rooms an organization's service account lists (Enterprise Connect): those of its own
    directories, of the units below it, and of the units above it, whose rooms its people book too."""
    organization_ids = set(organization_tree_ids(organization=organization))
    organization_ids |= {ancestor.pk for ancestor in organization.ancestors()}
    return list(
        DirectoryResource.objects.filter(
            removed_at__isnull=True,
            service__organization_id__in=organization_ids,
            service__status=ConnectionStatus.ACTIVE,
        ).order_by("name", "email")
    )


def directory_resources_for(*, user: User) -> list[DirectoryResource]:
    """The rooms of the directories of every organization the person belongs to (and the units above)."""
    organization_ids: set[int] = set()
    for membership in user.memberships.select_related("organization__parent"):
        organization_ids.add(membership.organization_id)
        organization_ids |= {ancestor.pk for ancestor in membership.organization.ancestors()}
    return list(
        DirectoryResource.objects.filter(
            removed_at__isnull=True,
            service__organization_id__in=organization_ids,
            service__status=ConnectionStatus.ACTIVE,
        ).order_by("name", "email")
    )
