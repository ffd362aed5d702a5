"""Reads for calendar services, profiles and calendars."""

from __future__ import annotations

from django.db.models import QuerySet

from calendars.models import CalendarProfile, CalendarService, CalendarServiceDomain
from cronofy_site.lib.domains import email_domain


def calendar_domains_claimed_elsewhere(
    *, domains: list[str], service: CalendarService | None = None
) -> list[CalendarServiceDomain]:
    """Live claims on these domains by services other than `service`."""
    claims = CalendarServiceDomain.objects.filter(domain__in=domains, released_at__isnull=True).select_related(
        "service__organization"
    )
    if service is not None and service.pk is not None:
        claims = claims.exclude(service=service)
    return list(claims)


def calendar_service_for_email(*, email: str) -> CalendarService | None:
    """The live calendar service that serves this address's domain, if any."""
    claim = (
        CalendarServiceDomain.objects.filter(domain=email_domain(email), released_at__isnull=True)
        .select_related("service__organization")
        .first()
    )
    return claim.service if claim else None


def calendar_profiles_of_user(*, user_id: int) -> QuerySet[CalendarProfile]:
    return CalendarProfile.objects.filter(user_id=user_id).select_related("calendar_service", "organization")
