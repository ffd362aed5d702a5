"""Calendar services (an organization's connection), calendar profiles (a user's) and their calendars."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Case, F, Q, Value, When

from accounts.models import OrganizationConnection, User
from calendars.access_modes import AccessModePolicy, policy_for
from calendars.choices import (
    PLATFORM_BY_PROVIDER_NAME,
    PROVIDER_NAMES_BY_ACCESS_MODE,
    BusyStatus,
    CalendarProvider,
    ProfileProviderName,
    ProfileStatus,
)
from calendars.scopes import Flow, ScopeRow, meaning_of, rows_for
from core.choices import AccessMode
from core.encryption import EncryptedJSONField
from core.outbox import OutboxRow
from core.public_ids import PublicIdField


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

    def scope_meaning(self, scope: str) -> str:
        # An organization's grant covers everyone in it: Microsoft's names read as application permissions.
        return meaning_of(scope, application=True)

    def stored_data_summary(self) -> list[str]:
        return list(self.policy.stored_data)


class DomainProof(models.TextChoices):
    PROVIDER = "provider", "The provider lists it (Workspace customer or Microsoft tenant domains)"
    DNS = "dns", "A DNS TXT record"
    OPERATOR = "operator", "Vouched for by the platform's operator"


def new_domain_token() -> str:
    return secrets.token_urlsafe(24)


class CalendarServiceDomain(models.Model):
    """A domain a calendar service claims to serve. A claim counts (the service serves the domain's
    people, and no other service may have it) only once it is proven: the provider lists the domain
    as its customer's or tenant's, or the domain publishes the claim's DNS TXT record. Unproven claims
    reserve nothing and block nobody."""

    service = models.ForeignKey(CalendarService, on_delete=models.CASCADE, related_name="domain_claims")
    domain = models.CharField(max_length=253)
    released_at = models.DateTimeField(
        null=True, blank=True, help_text="When the service was disconnected and let the domain go."
    )
    proven_at = models.DateTimeField(null=True, blank=True)
    proof = models.CharField(max_length=10, choices=DomainProof.choices, blank=True)
    dns_token = models.CharField(max_length=64, default=new_domain_token, editable=False)

    class Meta:
        ordering = ["domain"]
        constraints = [
            models.UniqueConstraint(
                fields=["domain"],
                condition=Q(released_at__isnull=True, proven_at__isnull=False),
                name="calendar_domain_proven_once",
                violation_error_message="This domain is already in use by another calendar service.",
            ),
            models.UniqueConstraint(fields=["service", "domain"], name="calendar_domain_once_per_service"),
        ]

    def __str__(self) -> str:
        return self.domain

    @property
    def is_proven(self) -> bool:
        return self.proven_at is not None

    @property
    def dns_record(self) -> str:
        """The TXT record (on the domain itself) that proves the claim."""
        return f"scheduling-domain-verification={self.dns_token}"


def _provider_name_matches_access_mode() -> Q:
    condition = Q()
    for mode, names in PROVIDER_NAMES_BY_ACCESS_MODE.items():
        condition |= Q(access_mode=mode, provider_name__in=names)
    return condition


def _account_platform() -> Case:
    """The platform of a profile's provider name as SQL: the same account is the same account whatever
    mode it is connected in (google and google_free_busy are both Google)."""
    platforms = sorted({platform for platform in PLATFORM_BY_PROVIDER_NAME.values() if platform})
    return Case(
        *(
            When(
                provider_name__in=sorted(n for n, p in PLATFORM_BY_PROVIDER_NAME.items() if p == platform),
                then=Value(platform),
            )
            for platform in platforms
        ),
        default=Value(""),
        output_field=models.CharField(),
    )


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
            # One live profile per provider account, whatever its mode: reconnecting in another mode
            # replaces the profile, so no mode sits beside another and no busy time counts twice.
            models.UniqueConstraint(
                _account_platform(),
                F("provider_account_id"),
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

    @property
    def syncs_busy_periods(self) -> bool:
        """Connected, in a mode that reads busy periods, on a provider (not our hosted calendar)."""
        return self.is_connected and self.policy.syncs_busy_periods and self.platform is not None

    def requested_scope_rows(self) -> tuple[ScopeRow, ...]:
        if self.platform is None:
            return ()
        flow = Flow.ORGANIZATION_CALENDAR if self.calendar_service_id else Flow.INDIVIDUAL_CONSENT
        return rows_for(flow, provider=self.platform, access_mode=self.access_mode)

    def scope_meaning(self, scope: str) -> str:
        return meaning_of(scope)

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
    time_zone = models.CharField(max_length=64, default="Etc/UTC", help_text="The calendar's own time zone.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Sync state. The cursor is Google's nextSyncToken or Graph's deltaLink: where the next
    # incremental round continues. A full round lists the window around `full_synced_at` and resets it.
    sync_cursor = models.TextField(blank=True)
    full_synced_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True, help_text="The last successful sync round.")
    sync_error = models.TextField(blank=True)
    sync_pending = models.BooleanField(
        default=False, help_text="A push notification asked for a sync that has not started yet."
    )

    class Meta:
        ordering = ["-is_primary", "name"]
        constraints = [
            models.UniqueConstraint(fields=["profile", "provider_calendar_id"], name="calendar_once_per_profile"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_hosted(self) -> bool:
        return self.provider_calendar_id.startswith("hosted:")


class BusyPeriod(models.Model):
    """One occurrence of an external event, as far as availability is concerned: when, and how busy.

    This is all that is kept for Free/Busy profiles, and all the availability code reads. There is
    deliberately no column that could hold a title, description, location or attendee; the provider's
    event id is opaque. Transparent and declined events are kept as `free`.
    """

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="busy_periods")
    provider_event_id = models.CharField(max_length=1024)
    start = models.DateTimeField()
    end = models.DateTimeField()
    all_day = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=BusyStatus.choices)
    series_id = models.CharField(max_length=1024, blank=True, help_text="The provider's id of the recurring series.")
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["calendar", "provider_event_id"], name="busy_period_once_per_event"),
        ]
        indexes = [models.Index(fields=["calendar", "start"], name="busy_period_by_start")]

    def __str__(self) -> str:
        return f"{self.status} {self.start:%Y-%m-%d %H:%M} to {self.end:%H:%M}"


class ExternalEventDetail(models.Model):
    """Title, description, location and attendees of an external event: kept only for Read-Write
    profiles whose account granted an application `read_events`, and only ever written by the sync of
    such a profile. Free/Busy and No Access code never reads or writes this table."""

    busy_period = models.OneToOneField(BusyPeriod, on_delete=models.CASCADE, primary_key=True, related_name="detail")
    summary = models.TextField(blank=True)
    description = models.TextField(blank=True)
    location = models.TextField(blank=True)
    organizer_email = models.CharField(max_length=254, blank=True)
    join_url = models.URLField(max_length=2000, blank=True)
    attendees = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return self.summary or "(no title)"


class ProviderWatch(models.Model):
    """A push subscription at the provider that tells us when to sync: a Google watch channel on one
    calendar, or a Graph subscription on a mailbox's events (then `calendar` is empty and every
    calendar of the profile syncs). The token the provider echoes back is kept only as a digest."""

    profile = models.ForeignKey(CalendarProfile, on_delete=models.CASCADE, related_name="watches")
    calendar = models.ForeignKey(Calendar, null=True, blank=True, on_delete=models.CASCADE, related_name="watches")
    provider = models.CharField(max_length=16, choices=CalendarProvider.choices)
    channel_id = models.CharField(max_length=200, unique=True)
    resource_id = models.CharField(max_length=500, blank=True)
    token_digest = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    renewed_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["stopped_at", "expires_at"], name="watch_by_expiry")]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} watch {self.channel_id}"

    @property
    def is_live(self) -> bool:
        return self.stopped_at is None


class ProviderGrantRevocation(OutboxRow):
    """A person's own provider grant that was replaced by a lower mode or dropped, to revoke at the
    provider. Stored (encrypted) before the provider is called, so an outage loses nothing; the
    credentials are forgotten once the provider confirmed, or when the attempts run out."""

    DONE_FIELD = "revoked_at"

    profile = models.ForeignKey(
        CalendarProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="grant_revocations"
    )
    platform = models.CharField(max_length=16, choices=CalendarProvider.choices)
    credentials = EncryptedJSONField(null=True, blank=True)
    reason = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["revoked_at", "failed_at", "next_attempt_at"], name="revocation_due")]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} grant revocation ({self.reason})"


#
# Managed availability: what No Access profiles' availability is made of, and what any person may add
#


class AvailabilityRule(models.Model):
    """A person's recurring weekly hours (Cronofy's Managed Availability), in their own time zone, so
    that 9:00 stays 9:00 across daylight-saving changes. `calendar_ids` name the calendars whose busy
    periods count against it (all the person's calendars when empty)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="availability_rules")
    rule_id = models.CharField(max_length=200, verbose_name="availability rule id")
    tzid = models.CharField(max_length=64)
    calendar_ids = models.JSONField(default=list, blank=True)
    weekly_periods = models.JSONField(
        default=list, help_text='[{"day": "monday", "start_time": "09:00", "end_time": "17:00"}]'
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user", "rule_id"]
        constraints = [models.UniqueConstraint(fields=["user", "rule_id"], name="availability_rule_once_per_user")]

    def __str__(self) -> str:
        return self.rule_id


class AvailablePeriod(models.Model):
    """A one-off span in which a person is available (Cronofy's available periods)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="available_periods")
    period_id = models.CharField(max_length=200, verbose_name="available period id")
    start = models.DateTimeField()
    end = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user", "start"]
        constraints = [
            models.UniqueConstraint(fields=["user", "period_id"], name="available_period_once_per_user"),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="available_period_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.period_id


#
# Push notifications to integrators (Cronofy's channels)
#


class Channel(models.Model):
    """An integrator's push notification channel for one account (`POST /v1/channels`)."""

    public_id = PublicIdField(prefix="chn", verbose_name="channel id")
    grant = models.ForeignKey("accounts.Grant", on_delete=models.CASCADE, related_name="channels")
    callback_url = models.URLField(max_length=2000)
    only_managed = models.BooleanField(default=False)
    calendar_ids = models.JSONField(default=list, blank=True, help_text="Only changes to these calendars, if any.")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.public_id

    def as_cronofy(self) -> dict[str, object]:
        filters: dict[str, object] = {}
        if self.calendar_ids:
            filters["calendar_ids"] = list(self.calendar_ids)
        if self.only_managed:
            filters["only_managed"] = True
        return {"channel_id": self.public_id, "callback_url": self.callback_url, "filters": filters}


class NotificationKind(models.TextChoices):
    VERIFICATION = "verification", "Verification"
    CHANGE = "change", "Change"
    PROFILE_DISCONNECTED = "profile_disconnected", "Profile disconnected"
    PROFILE_INITIAL_SYNC_COMPLETED = "profile_initial_sync_completed", "Profile initial sync completed"


class ChannelNotification(OutboxRow):
    """One notification for a channel, stored before it is sent: a task posts it, signed, and tries
    again with growing pauses until the integrator answers 2xx or the attempts run out."""

    DONE_FIELD = "delivered_at"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40, choices=NotificationKind.choices)
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["delivered_at", "failed_at", "next_attempt_at"], name="notification_due")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.channel}"
