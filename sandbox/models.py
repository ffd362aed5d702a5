"""The sandbox's own world: provider tenants, their people and rooms, calendars and events, OAuth
clients, grants and tokens, push channels, conferencing accounts and their meetings, and switchable
faults.

Nothing here is the product's data. These tables stand in for Google's and Microsoft's servers so
that the product's real client libraries have something faithful to talk to.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import models
from django.utils import timezone

from core.encryption import EncryptedJSONField


class Provider(models.TextChoices):
    GOOGLE = "google", "Google"
    MICROSOFT = "microsoft", "Microsoft"
    ZOOM = "zoom", "Zoom"
    WEBEX = "webex", "Webex"
    SUCCESSFACTORS = "successfactors", "SAP SuccessFactors"


class Tenant(models.Model):
    """A Google Workspace customer, a Microsoft Entra tenant or a SuccessFactors company, with its domains."""

    provider = models.CharField(max_length=16, choices=Provider.choices)
    name = models.CharField(max_length=200)
    external_id = models.CharField(
        max_length=64,
        unique=True,
        help_text="Google customer id (C0…), Microsoft tenant id (a GUID) or SuccessFactors company id.",
    )
    domains = models.JSONField(default=list, help_text="Verified domains; the first is the primary one.")

    class Meta:
        ordering = ["provider", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_provider_display()})"

    @property
    def primary_domain(self) -> str:
        return self.domains[0] if self.domains else ""


class Person(models.Model):
    """A mailbox in a tenant: a person, or a room that answers invitations by itself."""

    class Kind(models.TextChoices):
        USER = "user", "User"
        ROOM = "room", "Room"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="people")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.USER)
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200)
    external_id = models.CharField(
        max_length=64, unique=True, help_text="Google's numeric user id or Microsoft's object id (a GUID)."
    )
    time_zone = models.CharField(max_length=64, default="Europe/London")
    is_admin = models.BooleanField(default=False, help_text="Workspace or tenant administrator.")
    suspended = models.BooleanField(default=False)
    capacity = models.PositiveIntegerField(null=True, blank=True)
    building = models.CharField(max_length=100, blank=True)
    floor = models.CharField(max_length=50, blank=True)
    # The directory's view of a person: Google's organizational unit, Microsoft's department.
    org_unit_path = models.CharField(max_length=200, default="/")
    department = models.CharField(max_length=200, blank=True)
    manager = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="Deleted from the directory (kept to report the deletion)."
    )
    directory_seq = models.PositiveBigIntegerField(
        default=0, db_index=True, help_text="The change number of the last directory change (Graph users/delta)."
    )

    class Meta:
        ordering = ["email"]
        verbose_name_plural = "people"

    def __str__(self) -> str:
        return self.email


class Calendar(models.Model):
    """A calendar in a mailbox. Google names a primary calendar by its owner's email address."""

    owner = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="calendars")
    calendar_id = models.CharField(max_length=300, unique=True)
    name = models.CharField(max_length=300)
    is_primary = models.BooleanField(default=False)
    time_zone = models.CharField(max_length=64, default="Europe/London")
    color = models.CharField(max_length=16, default="#9fe1e7")
    sync_epoch = models.PositiveIntegerField(
        default=0, help_text="Bumped to invalidate every sync token and delta link of this calendar (410 Gone)."
    )

    class Meta:
        ordering = ["owner__email", "-is_primary", "name"]

    def __str__(self) -> str:
        return self.calendar_id


class Event(models.Model):
    """An event, a recurring series (with an RRULE) or one changed or cancelled occurrence of a series.

    Deletions are kept as cancelled rows so that incremental syncs can report them. `change_seq` is a
    global, monotonic change number: sync tokens and delta links are "changes after N".
    """

    class Status(models.TextChoices):
        CONFIRMED = "confirmed"
        TENTATIVE = "tentative"
        CANCELLED = "cancelled"

    class ShowAs(models.TextChoices):
        FREE = "free"
        TENTATIVE = "tentative"
        BUSY = "busy"
        OOF = "oof"
        WORKING_ELSEWHERE = "workingElsewhere"

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=1024)
    ical_uid = models.CharField(max_length=1024)
    series = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="exceptions",
        help_text="For a changed or cancelled occurrence: its series.",
    )
    original_start = models.DateTimeField(null=True, blank=True, help_text="The occurrence this exception replaces.")
    summary = models.CharField(max_length=1024, blank=True)
    description = models.TextField(blank=True)
    location = models.CharField(max_length=1024, blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    all_day = models.BooleanField(default=False)
    time_zone = models.CharField(max_length=64, default="UTC")
    recurrence = models.JSONField(default=list, blank=True, help_text='RFC 5545 lines, e.g. ["RRULE:FREQ=WEEKLY"].')
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONFIRMED)
    show_as = models.CharField(max_length=20, choices=ShowAs.choices, default=ShowAs.BUSY)
    transparent = models.BooleanField(default=False)
    is_private = models.BooleanField(default=False)
    organizer_email = models.EmailField()
    organizer_name = models.CharField(max_length=200, blank=True)
    attendees = models.JSONField(
        default=list,
        blank=True,
        help_text='[{"email", "name", "response": needsAction|accepted|tentative|declined, "resource": bool}]',
    )
    conference = models.JSONField(default=dict, blank=True, help_text="Meet or Teams meeting created with the event.")
    reminders = models.JSONField(
        null=True,
        blank=True,
        default=None,
        help_text='[{"method": popup|email, "minutes"}] of its own; null: the calendar\'s default reminders.',
    )
    sequence = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)
    change_seq = models.PositiveBigIntegerField(db_index=True)

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "event_id"], name="sandbox_event_id_per_calendar"),
        ]
        indexes = [models.Index(fields=["calendar", "change_seq"], name="sandbox_event_changes")]

    def __str__(self) -> str:
        return f"{self.summary or '(no title)'} {self.start:%Y-%m-%d %H:%M}"

    @property
    def is_series(self) -> bool:
        return bool(self.recurrence)

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED

    def response_of(self, email: str) -> str | None:
        for attendee in self.attendees:
            if attendee.get("email", "").lower() == email.lower():
                return attendee.get("response")
        return None


class ChangeCounter(models.Model):
    """One row holding the last change number handed out (a portable sequence)."""

    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.value)


class OAuthClient(models.Model):
    """An application registered with the provider: a Google OAuth client or an Entra app registration."""

    provider = models.CharField(max_length=16, choices=Provider.choices)
    name = models.CharField(max_length=200)
    client_id = models.CharField(max_length=200, unique=True)
    client_secret = models.CharField(
        max_length=200, help_text="Kept readable: the sandbox plays the provider, and its demo client is public."
    )
    redirect_uris = models.JSONField(default=list, blank=True)
    application_permissions = models.JSONField(
        default=list,
        blank=True,
        help_text="Microsoft: application permissions the registration asks for; admin consent grants them.",
    )
    tenant = models.ForeignKey(
        Tenant,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="registered_clients",
        help_text="SuccessFactors: the company the OAuth client application is registered in.",
    )
    x509_certificate = models.TextField(
        blank=True, help_text="SuccessFactors: the certificate SAML assertions of this client are signed with (PEM)."
    )

    class Meta:
        ordering = ["provider", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    def redirect_uri_allowed(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris


class ServiceAccount(models.Model):
    """A Google service account of an application, with the key the application holds."""

    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="service_accounts")
    client_email = models.EmailField(unique=True)
    unique_id = models.CharField(max_length=32, unique=True, help_text="The numeric client id admins delegate to.")
    private_key_id = models.CharField(max_length=64)
    key = EncryptedJSONField(help_text="The key file's JSON (holds the private key).")
    public_key_pem = models.TextField()

    def __str__(self) -> str:
        return self.client_email


class DelegationGrant(models.Model):
    """A Workspace admin's domain-wide delegation: this service account may act for the tenant's
    users with these scopes (Google admin console: Security, API controls)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="delegations")
    service_account = models.ForeignKey(ServiceAccount, on_delete=models.CASCADE, related_name="delegations")
    scopes = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "service_account"], name="sandbox_one_delegation"),
        ]

    def __str__(self) -> str:
        return f"{self.service_account} in {self.tenant}"


class AdminConsent(models.Model):
    """A Microsoft tenant admin's consent to an app registration's application permissions."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="admin_consents")
    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="admin_consents")
    permissions = models.JSONField(default=list)
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "client"], name="sandbox_one_admin_consent")]

    def __str__(self) -> str:
        return f"{self.client} in {self.tenant}"


class SigningKey(models.Model):
    """The RSA key the sandbox signs id_tokens with, published as a JWKS like the providers do."""

    kid = models.CharField(max_length=64, unique=True)
    key = EncryptedJSONField(help_text="The private key (PEM) and its public half.")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.kid


class Token(models.Model):
    """An authorization code, access token or refresh token. Only a hash of the value is stored."""

    class Kind(models.TextChoices):
        CODE = "code"
        ACCESS = "access"
        REFRESH = "refresh"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    value_hash = models.CharField(max_length=64, unique=True)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty for an application token (client credentials).",
    )
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    hr_user = models.ForeignKey(
        "HrUser",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="SuccessFactors: the API user a SAML-bearer token acts as.",
    )
    scopes = models.JSONField(default=list)
    redirect_uri = models.CharField(max_length=1000, blank=True)
    code_challenge = models.CharField(max_length=200, blank=True)
    code_challenge_method = models.CharField(max_length=10, blank=True)
    nonce = models.CharField(max_length=200, blank=True)
    offline = models.BooleanField(default=False, help_text="A code that should yield a refresh token.")
    refresh = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The refresh token an access token was minted from (revoking it revokes them).",
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["person", "kind"], name="sandbox_tokens_of_person")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.person or self.client}"

    def is_usable(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now


class WatchChannel(models.Model):
    """A Google push channel on a calendar's events."""

    channel_id = models.CharField(max_length=64, unique=True)
    resource_id = models.CharField(max_length=64, unique=True)
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="channels")
    address = models.URLField(max_length=1000)
    token = models.CharField(max_length=256, blank=True)
    expiration = models.DateTimeField()
    message_number = models.PositiveBigIntegerField(default=0)
    stopped_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.channel_id


class Subscription(models.Model):
    """A Microsoft Graph change-notification subscription on a mailbox's events."""

    subscription_id = models.UUIDField(default=uuid.uuid4, unique=True)
    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="subscriptions")
    resource = models.CharField(max_length=500)
    change_types = models.JSONField(default=list)
    notification_url = models.URLField(max_length=1000)
    lifecycle_notification_url = models.URLField(max_length=1000, blank=True)
    client_state = models.CharField(max_length=128, blank=True)
    expiration = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return str(self.subscription_id)


class HrUser(models.Model):
    """An employee of a SuccessFactors company: its OData v2 `User` entity. SuccessFactors is not a mail
    system, so these are kept apart from the mailboxes (`Person`) even when the addresses match."""

    class Status(models.TextChoices):
        # The OData v2 User entity's status codes.
        ACTIVE = "t", "Active"
        INACTIVE = "f", "Inactive"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="hr_users")
    user_id = models.CharField(max_length=100)
    username = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    first_name = models.CharField(max_length=128, blank=True)
    last_name = models.CharField(max_length=128, blank=True)
    status = models.CharField(max_length=2, choices=Status.choices, default=Status.ACTIVE)
    department = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=200, blank=True)
    manager = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    last_modified = models.DateTimeField(default=timezone.now, db_index=True)
    api_access = models.BooleanField(
        default=False,
        help_text="Role-based permission to read User through the OData API (what an API user is given).",
    )

    class Meta:
        ordering = ["tenant", "user_id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "user_id"], name="sandbox_hr_user_once")]

    def __str__(self) -> str:
        return f"{self.user_id} ({self.email})"

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Fault(models.Model):
    """A fault the sandbox injects on demand, for the next `times` matching calls (0: until removed)."""

    class Kind(models.TextChoices):
        RATE_LIMITED = "rate_limited", "429 Too Many Requests with Retry-After"
        SERVER_ERROR = "server_error", "500 Internal Server Error"
        UNAVAILABLE = "unavailable", "503 Service Unavailable with Retry-After"
        SLOW = "slow", "Slow response (delay, then answer normally)"
        INVALID_GRANT = "invalid_grant", "Token endpoint refuses refresh tokens (invalid_grant)"
        DROP_PUSH = "drop_push", "Push notifications are silently dropped"

    provider = models.CharField(max_length=16, choices=Provider.choices)
    operation = models.CharField(
        max_length=100,
        default="*",
        help_text='An operation name such as "calendar.events.list", "graph.getSchedule", "token", or "*".',
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    times = models.PositiveIntegerField(default=1, help_text="How many calls it hits; 0 means until removed.")
    after = models.PositiveIntegerField(
        default=0, help_text="Matching calls let through before it starts (a failure in the middle of a listing)."
    )
    hits = models.PositiveIntegerField(default=0)
    retry_after = models.PositiveIntegerField(default=1, help_text="Seconds, for 429 and 503.")
    delay_ms = models.PositiveIntegerField(default=0, help_text="For slow responses.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.provider} {self.operation}"


class MailMessage(models.Model):
    """Mail the outside world received: what the sandbox SMTP server took, one row per recipient. The
    mailbox pages show it; an invitation can be answered from there, as a mail client would."""

    received_at = models.DateTimeField(default=timezone.now)
    mail_from = models.CharField(max_length=254, blank=True)
    recipient = models.EmailField(db_index=True)
    subject = models.CharField(max_length=500, blank=True)
    raw = models.TextField()
    method = models.CharField(max_length=16, blank=True, help_text="iTIP method of its text/calendar part.")
    answered = models.CharField(max_length=16, blank=True, help_text="The answer sent back, if any.")

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.subject} to {self.recipient}"


#
# Conferencing: Zoom accounts and Webex organizations (their own people, apps and tokens), and the
# meetings every conferencing provider holds (Zoom, Webex, Teams online meetings, Meet spaces).
#


class MeetingAccount(models.Model):
    """A Zoom account or a Webex organization. Its users are separate from the Google and Microsoft
    tenants' people: the same person has one mailbox there and one user here."""

    provider = models.CharField(max_length=16, choices=[(Provider.ZOOM, "Zoom"), (Provider.WEBEX, "Webex")])
    name = models.CharField(max_length=200)
    account_id = models.CharField(max_length=64, unique=True, help_text="Zoom account id or Webex org id.")
    site_url = models.CharField(max_length=200, blank=True, help_text="Webex: the meeting site, e.g. acme.webex.com.")

    class Meta:
        ordering = ["provider", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_provider_display()})"


class MeetingUser(models.Model):
    """A user of a Zoom account or a person of a Webex organization."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Deactivated"
        PENDING = "pending", "Invitation pending"

    account = models.ForeignKey(MeetingAccount, on_delete=models.CASCADE, related_name="users")
    email = models.EmailField()
    user_id = models.CharField(max_length=200, unique=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    is_admin = models.BooleanField(default=False, help_text="Account owner/admin (Zoom) or full admin (Webex).")
    time_zone = models.CharField(max_length=64, default="Europe/London")

    class Meta:
        ordering = ["account", "email"]
        constraints = [models.UniqueConstraint(fields=["account", "email"], name="sandbox_meeting_user_once")]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email


class MeetingApp(models.Model):
    """An application registered with Zoom or Webex: a Zoom Server-to-Server OAuth app (created inside
    one account, its scopes chosen there), a Zoom user-managed OAuth app, or a Webex integration."""

    class Kind(models.TextChoices):
        SERVER_TO_SERVER = "server_to_server", "Zoom Server-to-Server OAuth"
        USER_OAUTH = "user_oauth", "Zoom OAuth (user-managed)"
        INTEGRATION = "integration", "Webex integration"

    provider = models.CharField(max_length=16, choices=[(Provider.ZOOM, "Zoom"), (Provider.WEBEX, "Webex")])
    kind = models.CharField(max_length=20, choices=Kind.choices)
    account = models.ForeignKey(
        MeetingAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="apps", help_text="Zoom S2S only."
    )
    name = models.CharField(max_length=200)
    client_id = models.CharField(max_length=200, unique=True)
    client_secret = models.CharField(max_length=200)
    redirect_uris = models.JSONField(default=list, blank=True)
    scopes = models.JSONField(default=list, help_text="The scopes the app was given where it was registered.")

    class Meta:
        ordering = ["provider", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"


class MeetingToken(models.Model):
    """A Zoom or Webex authorization code, access token or refresh token (hashed)."""

    kind = models.CharField(max_length=8, choices=Token.Kind.choices)
    value_hash = models.CharField(max_length=64, unique=True)
    app = models.ForeignKey(MeetingApp, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(MeetingAccount, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        MeetingUser, null=True, blank=True, on_delete=models.CASCADE, related_name="+", help_text="Empty: account-wide."
    )
    scopes = models.JSONField(default=list)
    redirect_uri = models.CharField(max_length=1000, blank=True)
    refresh = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.kind} for {self.user or self.account}"

    def is_usable(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now


class Meeting(models.Model):
    """A meeting a conferencing provider holds: a Zoom meeting, a Webex meeting, a Teams online
    meeting or a Meet space (which has no time). Deleted meetings are kept, marked, so that their
    join page can say so."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        DELETED = "deleted", "Deleted"

    provider = models.CharField(max_length=16, choices=Provider.choices)
    meeting_id = models.CharField(max_length=200)
    account = models.ForeignKey(MeetingAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    host_email = models.EmailField()
    host_id = models.CharField(max_length=200)
    created_by = models.CharField(max_length=200, help_text="The client id of the app that created it.")
    external_id = models.CharField(max_length=200, blank=True, help_text="Teams createOrGet's externalId.")
    topic = models.CharField(max_length=500, blank=True)
    agenda = models.TextField(blank=True)
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    join_code = models.CharField(max_length=200, help_text="What the join URL carries (meeting code, MTID...).")
    password = models.CharField(max_length=32, blank=True)
    access_type = models.CharField(max_length=16, blank=True, help_text="Meet: OPEN, TRUSTED or RESTRICTED.")
    conference_active = models.BooleanField(default=False, help_text="Meet: someone is in the space now.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "meeting_id"], name="sandbox_meeting_id_per_provider"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.topic or self.meeting_id}"

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE


class TeamsAccessPolicy(models.Model):
    """A Teams application access policy (New-CsApplicationAccessPolicy), granted to some users or to
    the whole tenant (Grant-CsApplicationAccessPolicy -Global): without it, an app's application
    permission cannot create online meetings for a user."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="teams_policies")
    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="teams_policies")
    name = models.CharField(max_length=100, default="Scheduling-Meetings")
    is_global = models.BooleanField(default=False)
    people = models.ManyToManyField(Person, blank=True, related_name="teams_policies")

    def __str__(self) -> str:
        return f"{self.name} for {self.client} in {self.tenant}"

    def covers(self, person: Person) -> bool:
        return self.is_global or self.people.filter(pk=person.pk).exists()
