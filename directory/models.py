"""Directory services: where an organization's people come from, for onboarding and offboarding."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from accounts.models import ConnectionStatus, OrganizationConnection
from calendars.scopes import Flow, ScopeRow, meaning_of, rows_for
from core.public_ids import PublicIdField


class DirectoryProvider(models.TextChoices):
    GOOGLE = "google", "Google Workspace Directory"
    MICROSOFT = "microsoft", "Microsoft Entra ID"
    SUCCESSFACTORS = "successfactors", "SAP SuccessFactors"


class DirectoryService(OrganizationConnection):
    """An organization's directory, connected so that every person it lists has an account here and
    people who leave it are offboarded. One live directory per provider per organization.
    """

    public_id = PublicIdField(prefix="dir", verbose_name="directory id")
    provider = models.CharField(max_length=16, choices=DirectoryProvider.choices)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organization__name", "provider", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider"],
                condition=~Q(status=ConnectionStatus.DISCONNECTED),
                name="directory_live_once_per_provider",
                violation_error_message=("This organization already has a live directory service from this provider."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} for {self.organization}"

    def requested_scope_rows(self) -> tuple[ScopeRow, ...]:
        # SuccessFactors has no OAuth scopes: its API user's role decides what it can read.
        return rows_for(Flow.DIRECTORY_SYNC, provider=self.provider)

    def scope_meaning(self, scope: str) -> str:
        return meaning_of(scope)

    def stored_data_summary(self) -> list[str]:
        return [
            "Each person's name, email address and whether they are active, to create and offboard accounts.",
            "No passwords, groups or other profile data.",
        ]
