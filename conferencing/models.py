"""Conferencing services: meeting links for events when the calendar cannot make them natively."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from accounts.models import ConnectionStatus, OrganizationConnection
from calendars.scopes import Flow, ScopeProvider, ScopeRow, meaning_of, rows_for
from core.public_ids import PublicIdField


class ConferencingProvider(models.TextChoices):
    GOOGLE_MEET = "google_meet", "Google Meet"
    MS_TEAMS = "ms_teams", "Microsoft Teams"
    ZOOM = "zoom", "Zoom"
    WEBEX = "webex", "Webex"


SCOPE_PROVIDER_BY_CONFERENCING_PROVIDER: dict[str, ScopeProvider] = {
    ConferencingProvider.GOOGLE_MEET: ScopeProvider.GOOGLE,
    ConferencingProvider.MS_TEAMS: ScopeProvider.MICROSOFT,
    ConferencingProvider.ZOOM: ScopeProvider.ZOOM,
    ConferencingProvider.WEBEX: ScopeProvider.WEBEX,
}


class ConferencingService(OrganizationConnection):
    """An organization's conferencing account, authorized once by an admin for all its members.

    Free/Busy and No Access calendars cannot create Meet or Teams meetings natively, and Zoom and
    Webex never come from a calendar: this is where their meetings come from. Members are matched
    by email address. One live service per provider per organization.
    """

    public_id = PublicIdField(prefix="cnf", verbose_name="conferencing service id")
    provider = models.CharField(max_length=16, choices=ConferencingProvider.choices)

    class Meta:
        ordering = ["organization__name", "provider", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider"],
                condition=~Q(status=ConnectionStatus.DISCONNECTED),
                name="conferencing_live_once_per_provider",
                violation_error_message="This organization already has a live service from this conferencing provider.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} for {self.organization}"

    def requested_scope_rows(self) -> tuple[ScopeRow, ...]:
        return rows_for(
            Flow.CONFERENCING,
            provider=SCOPE_PROVIDER_BY_CONFERENCING_PROVIDER[self.provider],
            product=self.provider,
        )

    def scope_meaning(self, scope: str) -> str:
        return meaning_of(scope)

    def stored_data_summary(self) -> list[str]:
        return [
            "Join links and meeting ids of meetings created for events booked through this system.",
            "Members' conferencing account ids, matched by email address.",
        ]
