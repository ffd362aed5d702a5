"""Managed events: the events integrators create through this system, and who they involve.

They count as busy for everyone they involve, in every access mode: the organizer whose calendar
holds them and every attendee who has an account here (unless they declined). How they reach
people's calendars (a native write, or iMIP invitations) depends on the organizer's access mode.
"""

from __future__ import annotations

import base64
import secrets

from django.db import models
from django.db.models import Q

from accounts.models import Application, Organization, User
from calendars.models import Calendar
from conferencing.models import ConferencingMeeting, ConferencingProfile
from core.encryption import EncryptedJSONField
from core.outbox import OutboxRow
from core.public_ids import PublicIdField


class Transparency(models.TextChoices):
    OPAQUE = "opaque", "Opaque (busy)"
    TRANSPARENT = "transparent", "Transparent (free)"


class AttendeeStatus(models.TextChoices):
    NEEDS_ACTION = "needs_action", "Needs action"
    ACCEPTED = "accepted", "Accepted"
    TENTATIVE = "tentative", "Tentative"
    DECLINED = "declined", "Declined"


class DeliveryMode(models.TextChoices):
    NATIVE = "native", "Written into the organizer's calendar by the provider"
    EMAIL = "email", "Calendar invitations emailed by this system"


class WriteState(models.TextChoices):
    NONE = "", "Nothing to write"
    PENDING = "pending", "Waiting to be written"
    WRITTEN = "written", "Written"
    FAILED = "failed", "Failed"


class ConferencingState(models.TextChoices):
    NONE = "", "No meeting to make"
    PENDING = "pending", "Meeting being made or moved; the event is announced once it is"
    ASSIGNED = "assigned", "Join details assigned"
    FAILING = "failing", "Provider failing: announced without the link, retrying"
    FAILED = "failed", "Given up: announced without the link"


class ManagedEvent(models.Model):
    """An event an integrator application manages, keyed like Cronofy by (calendar, event_id) within
    that application: two applications using the same event_id on one calendar have two events.

    `version` counts the changes integrators made; `sequence` is iCalendar's SEQUENCE, raised only by
    changes attendees must act on (time, place, who is invited, cancellation).
    """

    event_uid = PublicIdField(prefix="evt", verbose_name="event uid")
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="managed_events")
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_events"
    )
    event_id = models.CharField(max_length=200, help_text="The integrator's own id for the event.")
    summary = models.CharField(max_length=1024)
    description = models.TextField(blank=True)
    location = models.CharField(max_length=1024, blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    all_day = models.BooleanField(default=False)
    tzid = models.CharField(max_length=64, default="Etc/UTC")
    transparency = models.CharField(max_length=12, choices=Transparency.choices, default=Transparency.OPAQUE)
    url = models.URLField(max_length=2000, blank=True)
    location_geo = models.JSONField(default=dict, blank=True, help_text="lat and long, when given.")
    reminders = models.JSONField(default=list, blank=True)
    event_private = models.BooleanField(default=False)
    conferencing = models.JSONField(default=dict, blank=True, help_text="As the integrator asked for it.")
    join_url = models.URLField(max_length=2000, blank=True)
    conferencing_description = models.CharField(
        max_length=200, blank=True, help_text="The conferencing provider's name, as attendees see it."
    )
    conferencing_profile = models.ForeignKey(
        ConferencingProfile,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_events",
        help_text="The conferencing account the event's meeting is made with, when a provider makes it.",
    )
    conferencing_meeting = models.OneToOneField(
        ConferencingMeeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_event"
    )
    conferencing_state = models.CharField(
        max_length=10, choices=ConferencingState.choices, blank=True, default=ConferencingState.NONE
    )
    conferencing_error = models.TextField(blank=True)
    subscriptions = models.JSONField(
        default=list, blank=True, help_text="Integrator's webhooks for this event's interactions (conferencing)."
    )
    delivery_mode = models.CharField(max_length=8, choices=DeliveryMode.choices, default=DeliveryMode.EMAIL)
    reply_domain = models.CharField(
        max_length=253, blank=True, help_text="Where attendees' replies go, fixed when the event is created."
    )
    ical_uid = models.CharField(max_length=255, blank=True)
    sequence = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=0)
    provider_event_id = models.CharField(max_length=1024, blank=True)
    write_state = models.CharField(max_length=8, choices=WriteState.choices, blank=True, default=WriteState.NONE)
    write_error = models.TextField(blank=True)
    write_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    flagged_at = models.DateTimeField(
        null=True, blank=True, help_text="Needs an admin's attention (its organizer left the organization)."
    )
    flag_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "application", "event_id"], name="managed_event_once_per_application_calendar"
            ),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="managed_event_ends_after_start"),
        ]
        indexes = [models.Index(fields=["calendar", "start"], name="managed_event_by_start")]

    def __str__(self) -> str:
        return self.summary

    @property
    def is_busy(self) -> bool:
        return self.deleted_at is None and self.transparency == Transparency.OPAQUE

    @property
    def awaits_conference(self) -> bool:
        """A meeting is being made or moved: announcing now would send the event without its link."""
        return self.conferencing_state == ConferencingState.PENDING

    @property
    def uses_native_conferencing(self) -> bool:
        """Meet or Teams made by the organizer's own calendar, with the event."""
        return self.conferencing.get("profile_id") in ("integrated", "default") and self.conferencing_profile_id is None


def new_reply_token() -> str:
    """32 lower-case base32 characters (160 random bits): safe in any mail system's local part."""
    return base64.b32encode(secrets.token_bytes(20)).decode().lower()


class ManagedEventAttendee(models.Model):
    """Someone invited to a managed event; `user` is set when the address is an account here, whose
    availability the event then takes.

    `reply_token` makes the attendee's own reply address (`event+<token>@<reply domain>`), the
    ORGANIZER of the invitations they receive: a reply counts for them only when it arrives there,
    so knowing an event's id or UID is not enough to answer for somebody.
    """

    event = models.ForeignKey(ManagedEvent, on_delete=models.CASCADE, related_name="attendees")
    email = models.EmailField()
    display_name = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_event_invitations"
    )
    status = models.CharField(max_length=16, choices=AttendeeStatus.choices, default=AttendeeStatus.NEEDS_ACTION)
    is_room = models.BooleanField(default=False)
    removed_at = models.DateTimeField(null=True, blank=True)
    reply_token = models.CharField(max_length=40, unique=True, default=new_reply_token, editable=False)

    class Meta:
        ordering = ["event", "email"]
        constraints = [models.UniqueConstraint(fields=["event", "email"], name="managed_attendee_once_per_event")]

    def __str__(self) -> str:
        return self.email


class EventNotificationKind(models.TextChoices):
    CONFERENCING_ASSIGNED = "conferencing_assigned", "Conferencing assigned"
    CONFERENCING_FAILING = "conferencing_failing", "Conferencing failing"


class EventNotification(OutboxRow):
    """One notification to an event's subscription (`subscriptions[].uri`), stored before it is sent and
    posted, signed like channel notifications, with growing pauses until a 2xx or the last attempt."""

    DONE_FIELD = "delivered_at"

    event = models.ForeignKey("ManagedEvent", on_delete=models.CASCADE, related_name="notifications")
    uri = models.URLField(max_length=2000)
    kind = models.CharField(max_length=40, choices=EventNotificationKind.choices)
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["delivered_at", "failed_at", "next_attempt_at"], name="event_notification_due")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.event}"


class InvitationMethod(models.TextChoices):
    REQUEST = "REQUEST", "Invitation or update"
    CANCEL = "CANCEL", "Cancellation"


class Invitation(OutboxRow):
    """One email to one recipient about one version of an event: the outbox row.

    The iCalendar object is rendered when the row is written, in the same transaction as the change
    it announces, so what is sent never depends on when a worker gets to it. The idempotency key makes
    a second row for the same recipient, version and method impossible, and the Message-ID makes any
    resend recognisable as the same message.
    """

    DONE_FIELD = "sent_at"

    event = models.ForeignKey(ManagedEvent, on_delete=models.CASCADE, related_name="invitations")
    recipient = models.EmailField()
    recipient_name = models.CharField(max_length=200, blank=True)
    method = models.CharField(max_length=8, choices=InvitationMethod.choices)
    sequence = models.PositiveIntegerField()
    version = models.PositiveIntegerField()
    idempotency_key = models.CharField(max_length=300, unique=True)
    message_id = models.CharField(max_length=300, unique=True)
    subject = models.CharField(max_length=500)
    ics = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["sent_at", "failed_at", "next_attempt_at"], name="invitation_due")]

    def __str__(self) -> str:
        return f"{self.method} {self.event} to {self.recipient}"


class ReplyOutcome(models.TextChoices):
    PENDING = "pending", "Not processed yet"
    APPLIED = "applied", "Applied"
    UNCHANGED = "unchanged", "Valid, nothing changed"
    REJECTED = "rejected", "Rejected"


class InboundReply(models.Model):
    """An iMIP reply as it reached us (SMTP receiver or an email provider's inbound webhook), kept before
    anything is done with it, and what came of it. Rejected replies stay here for inspection."""

    received_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=40)
    envelope_sender = models.CharField(max_length=254, blank=True)
    envelope_recipient = models.CharField(max_length=254, blank=True)
    client_address = models.GenericIPAddressField(
        null=True, blank=True, help_text="The SMTP client that delivered it (the SMTP receiver only)."
    )
    authentication = models.CharField(
        max_length=200, blank=True, help_text="How the sender was authenticated (DKIM, a trusted relay), or why not."
    )
    raw = models.TextField()
    event = models.ForeignKey(ManagedEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    uid = models.CharField(max_length=255, blank=True)
    sequence = models.IntegerField(null=True, blank=True)
    attendee_email = models.CharField(max_length=254, blank=True)
    partstat = models.CharField(max_length=20, blank=True)
    outcome = models.CharField(max_length=10, choices=ReplyOutcome.choices, default=ReplyOutcome.PENDING)
    reason = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "inbound replies"

    def __str__(self) -> str:
        return f"Reply from {self.attendee_email or self.envelope_sender or 'unknown'} ({self.outcome})"


class SenderDomain(models.Model):
    """An organization's own mail domain for invitations: From on it, signed with its DKIM key, and
    optionally replies on a subdomain whose MX points here. Used only once its DNS records check out;
    until then invitations go out from this installation's own address."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="sender_domain")
    domain = models.CharField(max_length=253, help_text="Invitations come From an address on this domain.")
    from_local_part = models.CharField(max_length=64, default="calendar")
    reply_domain = models.CharField(
        max_length=253,
        blank=True,
        help_text="Optional: replies go to addresses on this (sub)domain, whose MX record points to this system.",
    )
    dkim_selector = models.CharField(max_length=63, default="scheduling")
    dkim_private_key = EncryptedJSONField()
    verified_at = models.DateTimeField(null=True, blank=True)
    last_check = models.TextField(blank=True, help_text="What the last DNS check found.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.domain

    @property
    def from_email(self) -> str:
        return f"{self.from_local_part}@{self.domain}"

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None
