"""Calendar services (an organization's connection), calendar profiles (a user's) and their calendars."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from accounts.models import OrganizationConnection, User
from calendars.access_modes import AccessModePolicy, policy_for
from calendars.choices import (
    PLATFORM_BY_PROVIDER_NAME,
    PROVIDER_NAMES_BY_ACCESS_MODE,
    AccessMode,
    CalendarProvider,
    ProfileProviderName,
    ProfileStatus,
)
from calendars.scopes import Flow, ScopeRow, rows_for
from cronofy_site.lib.encryption import EncryptedJSONField
from cronofy_site.lib.public_ids import PublicIdField


class CalendarService(OrganizationConnection):
    """An organization's Google Workspace or Microsoft 365 calendars, connected in one access mode.

    It serves the users of its domains: their availability comes through it and bookings are
    delivered the way its mode says. An organization may connect several (one per set of domains,
    from different providers); a domain is served by at most one live service anywhere, or two
    syncs would fight over the same people. A No Access service authorizes nothing and so holds no
    credentials.
    """

    public_id = PublicIdField(prefix="ser", verbose_name="service id")
    provider = models.CharField(max_length=16, choices=CalendarProvider.choices)
    access_mode = models.CharField(max_length=16, choices=AccessMode.choices)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organization__name", "provider", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(access_mode=AccessMode.NO_ACCESS) | Q(credentials__isnull=True),
                name="calendar_service_no_access_has_no_credentials",
                violation_error_message="A No Access calendar service cannot hold provider credentials.",
            ),
        ]

    def __str__(self) -> str:
        domains = ", ".join(self.domain_names) or "no domains"
        return f"{self.get_provider_display()} ({domains})"

    @property
    def domain_names(self) -> list[str]:
        # Reads the prefetched claims when the caller prefetched them (admin lists do).
        return sorted(claim.domain for claim in self.domain_claims.all())

    @property
    def policy(self) -> AccessModePolicy:
        return policy_for(self.access_mode)

    def requested_scope_rows(self) -> tuple[ScopeRow, ...]:
        return rows_for(Flow.ORGANIZATION_CALENDAR, provider=self.provider, access_mode=self.access_mode)

    def stored_data_summary(self) -> list[str]:
        return list(self.policy.stored_data)


class CalendarServiceDomain(models.Model):
    """A domain a calendar service serves. While claimed (not released) no other service may claim it."""

    service = models.ForeignKey(CalendarService, on_delete=models.CASCADE, related_name="domain_claims")
    domain = models.CharField(max_length=253)
    released_at = models.DateTimeField(
        null=True, blank=True, help_text="When the service was disconnected and let the domain go."
    )

    class Meta:
        ordering = ["domain"]
        constraints = [
            models.UniqueConstraint(
                fields=["domain"],
                condition=Q(released_at__isnull=True),
                name="calendar_domain_served_once",
                violation_error_message="This domain is already served by another active calendar service.",
            ),
            models.UniqueConstraint(fields=["service", "domain"], name="calendar_domain_once_per_service"),
        ]

    def __str__(self) -> str:
        return self.domain


def _provider_name_matches_access_mode() -> Q:
    condition = Q()
    for mode, names in PROVIDER_NAMES_BY_ACCESS_MODE.items():
        condition |= Q(access_mode=mode, provider_name__in=names)
    return condition


class CalendarProfile(models.Model):
    """A user's connected calendar account, through an organization's calendar service or on their own.

    `provider_name` is what Cronofy reports (`google`, `office365`, `google_free_busy`,
    `ms_graph_free_busy`, `cronofy`...); it always agrees with the access mode. Profiles that come
    through an organization's service use the service's credentials and hold none of their own.
    """

    public_id = PublicIdField(prefix="pro", verbose_name="profile id")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="calendar_profiles")
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="calendar_profiles",
    )
    calendar_service = models.ForeignKey(
        CalendarService,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="profiles",
        help_text="The organization's service this profile comes through, if any.",
    )
    provider_name = models.CharField(max_length=32, choices=ProfileProviderName.choices)
    provider_service = models.CharField(
        max_length=32,
        blank=True,
        help_text="Cronofy's provider_service, e.g. gsuite for a Workspace account.",
    )
    access_mode = models.CharField(max_length=16, choices=AccessMode.choices)
    profile_name = models.CharField(max_length=254, help_text="The account's name at the provider, usually an email.")
    provider_account_id = models.CharField(
        max_length=200, blank=True, help_text="The provider's stable id for the account."
    )
    status = models.CharField(max_length=20, choices=ProfileStatus.choices, default=ProfileStatus.CONNECTED)
    credentials = EncryptedJSONField(null=True, blank=True)
    granted_scopes = models.JSONField(default=list, blank=True)
    last_error = models.TextField(blank=True)
    connected_at = models.DateTimeField(auto_now_add=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["profile_name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=_provider_name_matches_access_mode(),
                name="profile_provider_name_matches_access_mode",
                violation_error_message="The provider name does not match the access mode "
                "(for example google_free_busy is Free/Busy, cronofy is No Access).",
            ),
            models.CheckConstraint(
                condition=~Q(access_mode=AccessMode.NO_ACCESS) | Q(credentials__isnull=True),
                name="profile_no_access_has_no_credentials",
                violation_error_message="A No Access profile cannot hold provider credentials.",
            ),
            models.UniqueConstraint(
                fields=["provider_name", "provider_account_id"],
                condition=~Q(status=ProfileStatus.DISCONNECTED) & ~Q(provider_account_id=""),
                name="profile_live_once_per_provider_account",
                violation_error_message="This provider account is already connected.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.profile_name} ({self.provider_name})"

    @property
    def platform(self) -> str | None:
        """google or microsoft; None for a hosted (No Access) calendar."""
        return PLATFORM_BY_PROVIDER_NAME[self.provider_name]

    @property
    def policy(self) -> AccessModePolicy:
        return policy_for(self.access_mode)

    @property
    def is_connected(self) -> bool:
        return self.status == ProfileStatus.CONNECTED

    def requested_scope_rows(self) -> tuple[ScopeRow, ...]:
        if self.platform is None:
            return ()
        flow = Flow.ORGANIZATION_CALENDAR if self.calendar_service_id else Flow.INDIVIDUAL_CONSENT
        return rows_for(flow, provider=self.platform, access_mode=self.access_mode)

    def stored_data_summary(self) -> list[str]:
        return list(self.policy.stored_data)


class Calendar(models.Model):
    """One calendar of a profile, as the provider lists it (or our hosted calendar for No Access)."""

    public_id = PublicIdField(prefix="cal", verbose_name="calendar id")
    profile = models.ForeignKey(CalendarProfile, on_delete=models.CASCADE, related_name="calendars")
    provider_calendar_id = models.CharField(max_length=500)
    name = models.CharField(max_length=500)
    is_primary = models.BooleanField(default=False)
    is_readonly = models.BooleanField(default=False)
    is_deleted = models.BooleanField(default=False)
    integrated_conferencing_available = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_primary", "name"]
        constraints = [
            models.UniqueConstraint(fields=["profile", "provider_calendar_id"], name="calendar_once_per_profile"),
        ]

    def __str__(self) -> str:
        return self.name
