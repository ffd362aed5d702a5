"""Conferencing services (an organization's Zoom, Webex, Teams or Meet), conferencing profiles (a
person's account there, linked by email or authorized by the person) and the meetings made for
events."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from accounts.models import ConnectionStatus, OrganizationConnection, User
from calendars.choices import ProfileStatus
from calendars.scopes import Flow, ScopeProvider, ScopeRow, WireScope, meaning_of, rows_for, wire_scope_rows
from core.encryption import EncryptedJSONField
from core.public_ids import PublicIdField


class ConferencingProvider(models.TextChoices):
    """Cronofy's conferencing `provider_name`s."""

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
# Providers a person may link on their own (`POST /v1/conferencing_service_authorizations`).
PERSONAL_PROVIDERS = (ConferencingProvider.ZOOM, ConferencingProvider.WEBEX)


class ConferencingService(OrganizationConnection):
    """An organization's conferencing account, authorized once by an admin for all its members.

    Free/Busy and No Access calendars cannot create Meet or Teams meetings natively, and Zoom and
    Webex never come from a calendar: this is where their meetings come from. Members of the
    organization and the units below it are linked by email address. One live service per provider
    per organization; at most one of them is the organization's default, which
    `conferencing.profile_id: "default"` uses. It goes live only once a test meeting was created and
    deleted with its grant.
    """

    public_id = PublicIdField(prefix="cnf", verbose_name="conferencing service id")
    provider = models.CharField(max_length=16, choices=ConferencingProvider.choices)
    is_default = models.BooleanField(
        "organization's default",
        default=False,
        help_text='Meetings for conferencing.profile_id "default" come from this service.',
    )
    verified_at = models.DateTimeField(
        null=True, blank=True, help_text="When a test meeting was last created and deleted with this grant."
    )
    people_linked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organization__name", "provider", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider"],
                condition=~Q(status=ConnectionStatus.DISCONNECTED),
                name="conferencing_live_once_per_provider",
                violation_error_message="This organization already has a live service from this conferencing provider.",
            ),
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(is_default=True) & ~Q(status=ConnectionStatus.DISCONNECTED),
                name="conferencing_one_default_per_organization",
                violation_error_message="This organization already has a default conferencing service.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} for {self.organization}"

    def requested_scope_rows(self) -> tuple[ScopeRow | WireScope, ...]:
        provider = SCOPE_PROVIDER_BY_CONFERENCING_PROVIDER[self.provider]
        return rows_for(Flow.CONFERENCING, provider=provider, product=self.provider) + wire_scope_rows(
            Flow.CONFERENCING, provider=provider, product=self.provider
        )

    def scope_meaning(self, scope: str) -> str:
        return meaning_of(scope)

    def stored_data_summary(self) -> list[str]:
        return [
            "Members' accounts at the provider (id and email address), matched by email address.",
            "Join links of meetings created for events booked through this system, and each meeting's title "
            "and times as the provider holds them.",
            "Nothing from meetings people create themselves, and no recordings or chats.",
        ]


class ConferencingProfile(models.Model):
    """A person's account at a conferencing provider: linked through their organization's service by
    email address (the service's credentials are used), or authorized by the person themselves for
    Zoom or Webex (their own credentials, encrypted). `profile_id` in Cronofy's API."""

    public_id = PublicIdField(prefix="pro", verbose_name="profile id")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="conferencing_profiles")
    service = models.ForeignKey(
        ConferencingService,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="profiles",
        help_text="The organization's service this profile comes through; empty for a person's own link.",
    )
    provider = models.CharField(max_length=16, choices=ConferencingProvider.choices)
    provider_user_id = models.CharField(
        max_length=200, help_text="What the provider hosts meetings by (user id, person id, object id)."
    )
    profile_name = models.CharField(max_length=254, help_text="The account's email address at the provider.")
    display_name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=ProfileStatus.choices, default=ProfileStatus.CONNECTED)
    credentials = EncryptedJSONField(null=True, blank=True)
    granted_scopes = models.JSONField(default=list, blank=True)
    last_error = models.TextField(blank=True)
    connected_at = models.DateTimeField(auto_now_add=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["profile_name", "provider", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "user"],
                condition=Q(service__isnull=False) & ~Q(status=ProfileStatus.DISCONNECTED),
                name="conferencing_profile_once_per_service_and_person",
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_user_id"],
                condition=Q(service__isnull=True) & ~Q(status=ProfileStatus.DISCONNECTED),
                name="conferencing_own_link_once_per_account",
                violation_error_message="This conferencing account is already linked to someone.",
            ),
            models.CheckConstraint(
                condition=Q(service__isnull=True) | Q(credentials__isnull=True),
                name="conferencing_profile_through_service_holds_no_credentials",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.profile_name} ({self.get_provider_display()})"

    @property
    def is_connected(self) -> bool:
        return self.status == ProfileStatus.CONNECTED

    @property
    def is_personal(self) -> bool:
        return self.service_id is None


class MeetingState(models.TextChoices):
    PENDING = "pending", "Not at the provider yet"
    CREATED = "created", "At the provider"
    DELETED = "deleted", "Deleted"


class ConferencingMeeting(models.Model):
    """The meeting made at a provider for one event (`reference` is the event's uid), and what the
    provider holds of it, so that a moved or renamed event updates it only when something differs.

    A create is made under a lease (`attempt_started_at`): another worker does not create meanwhile. A
    create that got no answer (a timeout), or whose worker died holding the lease, may have made the
    meeting: `outcome_unknown`, and the next attempt asks the provider for it before making another.
    """

    profile = models.ForeignKey(ConferencingProfile, on_delete=models.PROTECT, related_name="meetings")
    reference = models.CharField(max_length=100, db_index=True)
    provider = models.CharField(max_length=16, choices=ConferencingProvider.choices)
    state = models.CharField(max_length=10, choices=MeetingState.choices, default=MeetingState.PENDING)
    meeting_id = models.CharField(max_length=500, blank=True)
    join_url = models.URLField(max_length=2000, blank=True)
    provider_description = models.CharField(max_length=100, blank=True)
    passcode = models.CharField(max_length=64, blank=True)
    title = models.CharField(max_length=1024, blank=True)
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    outcome_unknown = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["profile", "state"], name="conferencing_meeting_by_state")]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} meeting {self.meeting_id or '(pending)'}"

    @property
    def is_live(self) -> bool:
        return self.state == MeetingState.CREATED
