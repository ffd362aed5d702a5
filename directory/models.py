"""Directory services: where an organization's people (and rooms) come from, for onboarding and
offboarding, what each directory last said about each person, and the rounds that read it."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.models import ConnectionStatus, Organization, OrganizationConnection, User
from calendars.scopes import Flow, ScopeRow, meaning_of, rows_for
from core.public_ids import PublicIdField


class DirectoryProvider(models.TextChoices):
    GOOGLE = "google", "Google Workspace Directory"
    MICROSOFT = "microsoft", "Microsoft Entra ID"
    SUCCESSFACTORS = "successfactors", "SAP SuccessFactors"


# Providers whose units are paths, where a mapping of /Sales also covers /Sales/EMEA (Google's
# organizational units); the others name flat departments.
PATH_UNIT_PROVIDERS = frozenset({DirectoryProvider.GOOGLE})


class OffboardingPolicy(models.TextChoices):
    CANCEL = "cancel", "Cancel their future bookings (every attendee gets the cancellation)"
    HAND_OVER = "hand_over", "Hand their future bookings over to a named organizer"
    KEEP = "keep", "Keep their future bookings and flag them for review"


class DirectoryService(OrganizationConnection):
    """An organization's directory, connected so that every active person it lists in the organization's
    domains has an account here, and people who leave it are offboarded. One live directory per
    provider per organization.
    """

    public_id = PublicIdField(prefix="dir", verbose_name="directory id")
    provider = models.CharField(max_length=16, choices=DirectoryProvider.choices)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    acting_user = models.CharField(
        "acts as",
        max_length=254,
        blank=True,
        help_text="Google: the Workspace administrator the service account acts as. SuccessFactors: the API "
        "user the SAML assertion names.",
    )
    api_url = models.URLField(
        "API server",
        blank=True,
        help_text="SuccessFactors: your data center's API server, e.g. https://api4.successfactors.com.",
    )
    provider_domains = models.JSONField(
        default=list,
        blank=True,
        help_text="Domains the provider itself reports as verified for the organization (Google's domains, "
        "Microsoft's verified domains): proof the organization owns them.",
    )
    default_unit = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Where people go whose unit no mapping names (the organization itself when empty).",
    )
    offboarding_policy = models.CharField(
        max_length=16, choices=OffboardingPolicy.choices, default=OffboardingPolicy.CANCEL
    )
    handover_to = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="For the hand-over policy: who organizes an offboarded person's future bookings.",
    )
    offboarding_threshold = models.PositiveSmallIntegerField(
        "offboarding threshold (%)",
        default=10,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="A round that would offboard more than this share of the directory's people stops and "
        "waits for an admin to confirm.",
    )
    round_interval = models.DurationField(
        default=timedelta(hours=1), help_text="How often the directory is read (hh:mm:ss)."
    )
    cursor = models.TextField(
        blank=True, help_text="Where the next incremental round continues (Graph's delta link, a moment)."
    )
    next_round_at = models.DateTimeField(
        null=True, blank=True, help_text="When the schedule runs the next round (empty until an admin ran the first)."
    )

    class Meta:
        ordering = ["organization__name", "provider", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider"],
                condition=~Q(status=ConnectionStatus.DISCONNECTED),
                name="directory_live_once_per_provider",
                violation_error_message=("This organization already has a live directory service from this provider."),
            ),
            models.CheckConstraint(
                condition=~Q(offboarding_policy=OffboardingPolicy.HAND_OVER) | Q(handover_to__isnull=False),
                name="directory_handover_names_someone",
                violation_error_message="The hand-over policy needs the organizer who takes the bookings over.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} for {self.organization}"

    def clean(self) -> None:
        super().clean()
        if self.offboarding_policy == OffboardingPolicy.HAND_OVER and self.handover_to_id is None:
            raise ValidationError({"handover_to": "Name the organizer who takes offboarded people's bookings over."})

    def requested_scope_rows(self) -> tuple[ScopeRow, ...]:
        # SuccessFactors has no OAuth scopes: its API user's role decides what it can read.
        return rows_for(Flow.DIRECTORY_SYNC, provider=self.provider)

    def scope_meaning(self, scope: str) -> str:
        return meaning_of(scope)

    def stored_data_summary(self) -> list[str]:
        return [
            "Each person's name, email address and whether they are active, their unit or department and their "
            "manager's directory id, to create, move and offboard accounts.",
            "Meeting rooms' names, addresses, capacity, building and floor.",
            "No passwords, groups or other profile data.",
        ]


class DirectoryUnitMapping(models.Model):
    """The admin's mapping from what the directory says (Google's organizational unit path, a Microsoft
    or SuccessFactors department) to an Organizational Unit here. Google paths match their sub-units too
    (/Sales matches /Sales/EMEA); the longest match wins."""

    service = models.ForeignKey(DirectoryService, on_delete=models.CASCADE, related_name="unit_mappings")
    source = models.CharField(
        max_length=200, help_text="Google: an organizational unit path such as /Sales. Otherwise a department name."
    )
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["source"]
        constraints = [
            models.UniqueConstraint(fields=["service", "source"], name="directory_unit_mapped_once"),
        ]

    def __str__(self) -> str:
        return f"{self.source} → {self.organization}"


class EntryStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    DELETED = "deleted", "Deleted"


class DirectoryUser(models.Model):
    """One person as a directory last reported them, and the account they were onboarded to. Kept after
    offboarding, so a person who comes back is recognised by the provider's id, and renames and moves
    are told apart from a new person."""

    service = models.ForeignKey(DirectoryService, on_delete=models.CASCADE, related_name="people")
    external_id = models.CharField(max_length=200, help_text="The provider's id for the person.")
    email = models.CharField(max_length=254, blank=True)
    name = models.CharField(max_length=254, blank=True)
    status = models.CharField(max_length=12, choices=EntryStatus.choices, default=EntryStatus.ACTIVE)
    unit = models.CharField(max_length=200, blank=True, help_text="Organizational unit path or department.")
    manager_external_id = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="directory_entries")
    placed_in = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The Organizational Unit the directory's mapping put the person in.",
    )
    onboarded_at = models.DateTimeField(null=True, blank=True)
    offboarded_at = models.DateTimeField(null=True, blank=True)
    offboard_reason = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(fields=["service", "external_id"], name="directory_user_once_per_service"),
        ]
        indexes = [models.Index(fields=["service", "email"], name="directory_user_by_email")]

    def __str__(self) -> str:
        return self.email or self.external_id

    @property
    def is_onboarded(self) -> bool:
        return self.user_id is not None and self.offboarded_at is None


class DirectoryResource(models.Model):
    """A meeting room or other bookable resource the directory lists (Google calendar resources,
    Microsoft places). Read-Write bookings may invite it; email modes refuse it."""

    public_id = PublicIdField(prefix="res", verbose_name="resource id")
    service = models.ForeignKey(DirectoryService, on_delete=models.CASCADE, related_name="resources")
    external_id = models.CharField(max_length=200)
    email = models.CharField(max_length=254)
    name = models.CharField(max_length=254)
    capacity = models.PositiveIntegerField(null=True, blank=True)
    building = models.CharField(max_length=200, blank=True)
    floor = models.CharField(max_length=100, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True, help_text="No longer listed by the directory.")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "external_id"], name="directory_resource_once_per_service"),
        ]
        indexes = [models.Index(fields=["email"], name="directory_resource_by_email")]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class RoundStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Done"
    PREVIEWED = "previewed", "Preview (nothing changed)"
    WAITING = "waiting", "Stopped: waiting for an admin to confirm offboarding"
    FAILED = "failed", "Failed (nothing changed)"


class DirectoryRound(models.Model):
    """One reading of a directory and what came of it: how many people were onboarded, offboarded, moved
    and renamed (with their names), how long it took, what failed. A preview plans without changing
    anything; a round that would offboard too many people stops and waits for confirmation."""

    service = models.ForeignKey(DirectoryService, on_delete=models.CASCADE, related_name="rounds")
    full = models.BooleanField(default=True, help_text="Everyone listed (not only changes since the last round).")
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=RoundStatus.choices, default=RoundStatus.RUNNING)
    requested_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(help_text="A round still running after this was lost with its worker.")
    people_read = models.PositiveIntegerField(default=0)
    people_applied = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    changes = models.JSONField(default=dict, blank=True, help_text="Who was (or would be) onboarded, offboarded…")
    errors = models.JSONField(default=list, blank=True)
    offboarding_allowed = models.PositiveIntegerField(
        null=True, blank=True, help_text="Confirmed by an admin: this many offboardings may pass the threshold."
    )
    confirmed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attempt = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(status=RoundStatus.RUNNING),
                name="directory_one_running_round",
                violation_error_message="A round of this directory is already running.",
            ),
        ]

    def __str__(self) -> str:
        return f"{'Preview' if self.dry_run else 'Round'} of {self.service} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self) -> timedelta | None:
        return self.finished_at - self.started_at if self.finished_at else None

    def summary(self) -> str:
        """“onboarded 12, offboarded 3, moved 2” (or “would onboard…” for a preview)."""
        verbs = [("onboard", "onboarded"), ("offboard", "offboarded"), ("move", "moved"), ("rename", "renamed")]
        parts = []
        for key, past in verbs:
            count = self.counts.get(key, 0)
            if count or key in ("onboard", "offboard"):
                parts.append(
                    f"{key} {count}" if self.dry_run or self.status == RoundStatus.WAITING else f"{past} {count}"
                )
        text = ", ".join(parts)
        return f"would {text}" if self.dry_run or self.status == RoundStatus.WAITING else text
