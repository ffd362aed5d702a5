"""Accounts, Organizational Units, roles, the audit trail, and the base of every organization connection."""

from __future__ import annotations

import zoneinfo
from typing import Any, ClassVar, Protocol

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from core.encryption import EncryptedJSONField
from core.outbox import OutboxRow
from core.public_ids import PublicIdField

# Deeper nesting than this is a modelling mistake, and the bound keeps tree walks cheap.
MAX_ORGANIZATION_DEPTH = 8


def default_offered_access_modes() -> list[str]:
    return ["read_write", "free_busy"]


def validate_tzid(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            "“%(value)s” is not a known time zone (for example Europe/London).",
            params={"value": value},
            code="invalid_tzid",
        )


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("Users are identified by their email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person: an end user with calendars, an IT admin, or both. Cronofy calls this an account.

    The email address is the login and is unique whatever its case.
    """

    public_id = PublicIdField(prefix="acc", verbose_name="account id")
    email = models.EmailField(
        "email address",
        max_length=254,
        unique=True,
        error_messages={"unique": "A user with this email address already exists."},
    )
    name = models.CharField(max_length=150, blank=True)
    default_tzid = models.CharField("default time zone", max_length=64, default="Etc/UTC", validators=[validate_tzid])
    is_staff = models.BooleanField(
        "admin console access",
        default=False,
        help_text="Kept in step with the user's organization roles: owners and admins reach the console.",
    )
    is_active = models.BooleanField(
        default=True,
        help_text="Inactive users cannot sign in; offboarding clears this.",
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = "user"

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.email.strip().lower()

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Stored lower-case, so the unique index is case-insensitive in effect on every database.
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email


class Organization(models.Model):
    """An Organizational Unit: the customer whose IT admins connect calendar, directory and
    conferencing services. Units nest (a company, its subsidiaries, their departments); admins of a
    unit also administer the units below it.
    """

    public_id = PublicIdField(prefix="org", verbose_name="organization id")
    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="The unit this one belongs to, if any.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("pk")),
                name="organization_not_own_parent",
                violation_error_message="An organization cannot be its own parent.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        self._check_ancestry()

    def _check_ancestry(self) -> None:
        depth = 1
        ancestor = self.parent
        while ancestor is not None:
            if self.pk is not None and ancestor.pk == self.pk:
                raise ValidationError(
                    {"parent": "An organization cannot be placed inside itself or one of its own sub-units."}
                )
            depth += 1
            if depth > MAX_ORGANIZATION_DEPTH:
                raise ValidationError({"parent": f"Organizations nest at most {MAX_ORGANIZATION_DEPTH} levels deep."})
            ancestor = ancestor.parent

    def ancestors(self) -> list[Organization]:
        chain: list[Organization] = []
        ancestor = self.parent
        while ancestor is not None and len(chain) < MAX_ORGANIZATION_DEPTH:
            chain.append(ancestor)
            ancestor = ancestor.parent
        return chain


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"

    @classmethod
    def administering(cls) -> tuple[str, ...]:
        return (cls.OWNER, cls.ADMIN)


class Membership(models.Model):
    """A user's place in an organization.

    Owners and admins manage the organization's connections and members in the admin console;
    only owners grant or revoke the owner role. Members are the people whose calendars are scheduled.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization__name", "user__email"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"],
                name="membership_once_per_organization",
                violation_error_message="This user is already a member of the organization.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.get_role_display()})"

    @property
    def is_administering(self) -> bool:
        return self.role in Role.administering()


class ActorKind(models.TextChoices):
    PERSON = "person", "A signed-in person"
    APPLICATION = "application", "An integrator application"
    PROVIDER = "provider", "A calendar provider"
    SYSTEM = "system", "The system"


class AuditEvent(models.Model):
    """Who did what to which object of an organization, and when: connections made and dropped,
    access modes changed, roles granted. Written by services, never edited. Never holds a secret.

    Who acted is one of four kinds: a signed-in person (`actor`), an integrator application
    (`actor_application`, with the account it acted for in `actor_label`), a provider (its push or its
    refusal) or the system itself (a sync, a provisioning), named in `actor_label`.
    """

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_kind = models.CharField(max_length=12, choices=ActorKind.choices, default=ActorKind.SYSTEM)
    actor_application = models.ForeignKey(
        "Application", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    target_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=200)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id", "-created_at"], name="audit_by_target")]

    def __str__(self) -> str:
        return f"{self.action} {self.target_repr}"

    @property
    def actor_display(self) -> str:
        if self.actor_kind == ActorKind.PERSON:
            return str(self.actor or self.actor_label or "A person since removed")
        if self.actor_kind == ActorKind.APPLICATION:
            name = self.actor_application.name if self.actor_application else "An application since removed"
            return f"{name} (application){f' for {self.actor_label}' if self.actor_label else ''}"
        if self.actor_kind == ActorKind.PROVIDER:
            return f"{self.actor_label or 'The provider'} (provider)"
        return f"System{f': {self.actor_label}' if self.actor_label else ''}"


class RequestedScope(Protocol):
    """One provider scope a connection asks for, as the scope registry (calendars/scopes.py) lists it.
    Read-only (the registry's rows are frozen); `scope` is None for a seed line that names no real scope."""

    @property
    def scope(self) -> str | None: ...

    @property
    def label(self) -> str: ...

    @property
    def meaning(self) -> str: ...


class ConnectionStatus(models.TextChoices):
    PENDING = "pending", "Awaiting authorization"
    ACTIVE = "active", "Connected"
    ERROR = "error", "Needs attention"
    DISCONNECTED = "disconnected", "Disconnected"


class OrganizationConnection(models.Model):
    """What every organization-level connection (calendar, directory, conferencing service) has:
    its provider, status, who connected it and when, and credentials encrypted at rest.
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="%(class)ss")
    status = models.CharField(max_length=16, choices=ConnectionStatus.choices, default=ConnectionStatus.PENDING)
    credentials = EncryptedJSONField(null=True, blank=True, help_text="Provider tokens or keys, encrypted at rest.")
    granted_scopes = models.JSONField(
        default=list, blank=True, help_text="Scopes as the provider reported granting them."
    )
    external_id = models.CharField(
        "provider tenant",
        max_length=200,
        blank=True,
        help_text="The provider's id for the organization (Microsoft tenant, Google customer, SuccessFactors company).",
    )
    last_error = models.TextField(blank=True)
    connected_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    connected_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    @property
    def is_live(self) -> bool:
        """Not disconnected: pending, active and failing connections all hold their place."""
        return self.status != ConnectionStatus.DISCONNECTED

    def requested_scope_rows(self) -> tuple[RequestedScope, ...]:
        """The provider scopes this connection asks for, from the scope registry."""
        raise NotImplementedError

    def scope_meaning(self, scope: str) -> str:
        """The plain-language line for a scope the provider granted beyond what was asked."""
        raise NotImplementedError

    def stored_data_summary(self) -> list[str]:
        """Plain-language lines on what the system keeps from this connection."""
        raise NotImplementedError


class Application(models.Model):
    """An integrator's application, an OAuth2 client of this system (allauth's identity-provider Client
    holds its id, hashed secret and redirect URIs).

    Like Cronofy's per-application Features toggle, it says which access modes its users may choose:
    Read-Write and Free/Busy by default, No Access only when opted in.
    """

    client = models.OneToOneField("allauth_idp_oidc.Client", on_delete=models.CASCADE, related_name="application")
    name = models.CharField(max_length=100)
    offered_access_modes = models.JSONField(
        default=default_offered_access_modes,
        help_text="Access modes users of this application may connect in (read_write, free_busy, no_access).",
    )
    secret_digest = models.CharField(
        max_length=64,
        unique=True,
        editable=False,
        help_text="SHA-256 of the client secret: app-level API calls authenticate with one indexed lookup.",
    )
    # Push notifications to the integrator are signed with the secret itself (Cronofy-HMAC-SHA256),
    # so it is also kept, encrypted like every other secret.
    signing_secret = EncryptedJSONField(null=True, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def offers(self, access_mode: str) -> bool:
        return access_mode in self.offered_access_modes


class Grant(models.Model):
    """An account's authorization of an application: what Cronofy calls the authorization of a `sub`.

    Every token of the application for that account hangs off it; revoking it ends them all.
    """

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="grants")
    scopes = models.JSONField(default=list, help_text="Cronofy scopes, expanded with their implications.")
    revoked_profile_ids = models.JSONField(
        default=list,
        blank=True,
        help_text="Calendar profiles (ids) this application gave up (POST /v1/profiles/{id}/revoke): it no longer "
        "reaches them, while other applications of the account still may.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    service_account = models.ForeignKey(
        "ServiceAccount",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="grants",
        help_text="Enterprise Connect: the organization's grant that covers this person (no consent of their own).",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["application", "user"],
                condition=models.Q(revoked_at__isnull=True),
                name="grant_live_once_per_application_and_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application} for {self.user}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None

    def covers_profile(self, profile_id: int) -> bool:
        return self.is_live and profile_id not in self.revoked_profile_ids


class OrganizationInvitation(models.Model):
    """An emailed invitation for a person who already has an account elsewhere to join an organization.

    Admins add to their organization only people they already administer; anyone else joins by
    accepting, signed in as the invited address. The link's token is kept only as a digest.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} to {self.organization}"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()


class ServiceAccount(models.Model):
    """Enterprise Connect: an organization's (or unit's) decision that an integrator application may reach
    its people without each person's own consent, up to `delegated_scopes`.

    Made by an admin through `/enterprise_connect/oauth/authorize` or in the console; either way this one
    record. Every delegated grant issued under it names it, and authentication checks it on each request,
    so revoking it ends every delegated token at once without walking them.
    """

    public_id = PublicIdField(prefix="sac", verbose_name="service account id")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="service_accounts")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="service_accounts")
    scopes = models.JSONField(
        default=list, help_text="The service account's own scopes (service_account/accounts/manage and the like)."
    )
    delegated_scopes = models.JSONField(
        default=list, help_text="Cronofy's simplified scopes the application may ask for each person, at most."
    )
    access_mode = models.CharField(
        max_length=16,
        blank=True,
        help_text="The mode the admin chose for free_busy_write (read_write or free_busy): a ceiling on every "
        "delegated grant, under each calendar service's own mode. Blank: the services' modes alone decide.",
    )
    granted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organization__name", "application__name", "-created_at"]
        verbose_name = "integrator access (Enterprise Connect)"
        verbose_name_plural = "integrator access (Enterprise Connect)"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "application"],
                condition=models.Q(revoked_at__isnull=True),
                name="service_account_live_once_per_organization_and_application",
                violation_error_message="This application already has access to this organization's people.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application} for {self.organization}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None


class ServiceAccountAuthorization(OutboxRow):
    """One `POST /v1/service_account_authorizations` entry: written before anything else happens, then
    resolved by a task (code or error) and its answer delivered to `callback_url` through the outbox
    (attempts, next_attempt_at, failed_at, last_error, delivered_at). The answer holds a code, so it is
    encrypted at rest."""

    DONE_FIELD = "delivered_at"

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        GRANTED = "granted", "Code issued"
        REFUSED = "refused", "Refused"

    service_account = models.ForeignKey(ServiceAccount, on_delete=models.CASCADE, related_name="authorizations")
    email = models.EmailField()
    scopes = models.JSONField(default=list)
    callback_url = models.URLField(max_length=2000)
    state = models.CharField(max_length=2000, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    error = models.CharField(max_length=64, blank=True)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    answer = EncryptedJSONField(null=True, blank=True, help_text="The callback's body (it may hold a code).")
    # Empty until the task has resolved the entry: only then is there an answer to deliver.
    # The outbox base declares the field non-null; this override deliberately widens it, which mypy
    # cannot express for a model field (the column is nullable, see the migration).
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)  # type: ignore[assignment]
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.email} via {self.service_account}"
