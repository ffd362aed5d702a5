"""Writes for accounts, organizations, memberships, the audit trail, and the lifecycle every
organization connection shares (credentials stored, failure, disconnect)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, TypeVar

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.actors import Actor, as_actor
from accounts.models import (
    AuditEvent,
    ConnectionStatus,
    Membership,
    Organization,
    OrganizationConnection,
    OrganizationInvitation,
    Role,
    User,
)
from accounts.selectors import organization_owner_count, user_has_console_role, user_is_owner

#
# Audit trail
#


def audit_record(
    *,
    actor: User | Actor | None,
    target: models.Model,
    action: str,
    organization: Organization | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append to the audit trail, crediting whoever really acted (a person, an application, a provider,
    the system: a bare None is the system). `changes` must never hold a secret."""
    if organization is None:
        organization = target if isinstance(target, Organization) else getattr(target, "organization", None)
    who = as_actor(actor)
    return AuditEvent.objects.create(
        organization=organization,
        actor=who.user,
        actor_kind=who.kind,
        actor_application=who.application,
        actor_label=who.label[:200],
        action=action,
        target_type=ContentType.objects.get_for_model(target),
        target_id=str(target.pk),
        target_repr=str(target)[:200],
        changes=changes or {},
    )


def audit_record_many(entries: list[dict[str, Any]]) -> list[AuditEvent]:
    """Append many lines to the audit trail in one insert (a directory round onboarding a page of
    people). Each entry takes audit_record's keyword arguments."""
    rows = []
    for entry in entries:
        target, who = entry["target"], as_actor(entry.get("actor"))
        organization = entry.get("organization")
        if organization is None:
            organization = target if isinstance(target, Organization) else getattr(target, "organization", None)
        rows.append(
            AuditEvent(
                organization=organization,
                actor=who.user,
                actor_kind=who.kind,
                actor_application=who.application,
                actor_label=who.label[:200],
                action=entry["action"],
                target_type=ContentType.objects.get_for_model(target),
                target_id=str(target.pk),
                target_repr=str(target)[:200],
                changes=entry.get("changes") or {},
            )
        )
    return AuditEvent.objects.bulk_create(rows)


#
# Users
#


@transaction.atomic
def user_create(
    *,
    email: str,
    name: str = "",
    password: str | None = None,
    email_verified: bool = False,
    actor: User | None = None,
) -> User:
    """Create a user who signs in with this email address (an unusable password when none is given:
    they set one through "forgot password" or sign in through a provider)."""
    user = User(email=email, name=name)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=email_verified)
    audit_record(actor=actor, target=user, action="user_created")
    return user


# Fields whose change is worth an audit line; secrets (the password) are never recorded.
_AUDITED_USER_FIELDS = ("email", "name", "default_tzid", "is_active", "is_staff", "is_superuser")


@transaction.atomic
def user_save_changes(*, user: User, actor: User | None, changed_fields: list[str]) -> User:
    """Save profile or access changes already applied to `user` (by an admin form)."""
    user.full_clean(exclude=["password"])
    user.save()
    if "email" in changed_fields:
        # allauth signs people in by their EmailAddress rows; a new address must be verified again.
        EmailAddress.objects.filter(user=user).exclude(email__iexact=user.email).delete()
        EmailAddress.objects.update_or_create(
            user=user, email=user.email, defaults={"primary": True, "verified": False}
        )
    audited = {field: getattr(user, field) for field in changed_fields if field in _AUDITED_USER_FIELDS}
    if audited:
        audit_record(actor=actor, target=user, action="user_updated", changes=audited)
    return user


def _sync_console_access(user: User) -> None:
    """Owners and admins reach the admin console; nobody else does (superusers always do)."""
    should_be_staff = user.is_superuser or user_has_console_role(user=user)
    if user.is_staff != should_be_staff:
        user.is_staff = should_be_staff
        user.save(update_fields=["is_staff"])


#
# Organizations and memberships
#


@transaction.atomic
def organization_create(*, name: str, actor: User | None, parent: Organization | None = None) -> Organization:
    organization = Organization(name=name, parent=parent)
    organization.full_clean()
    organization.save()
    audit_record(
        actor=actor,
        target=organization,
        action="organization_created",
        changes={"name": name, "parent": str(parent) if parent else None},
    )
    return organization


@transaction.atomic
def organization_update(
    *, organization: Organization, actor: User | None, name: str, parent: Organization | None
) -> Organization:
    changes: dict[str, Any] = {}
    if organization.name != name:
        changes["name"] = [organization.name, name]
    if organization.parent_id != (parent.pk if parent else None):
        changes["parent"] = [
            str(organization.parent) if organization.parent else None,
            str(parent) if parent else None,
        ]
    if not changes:
        return organization  # a save without a change writes nothing
    organization.name, organization.parent = name, parent
    organization.full_clean()
    organization.save()
    audit_record(actor=actor, target=organization, action="organization_updated", changes=changes)
    return organization


def _check_owner_change(
    *, organization: Organization, actor: User | None, old_role: str | None, new_role: str | None
) -> None:
    touches_owner = Role.OWNER in (old_role, new_role) and old_role != new_role
    if not touches_owner:
        return
    if actor is not None and not user_is_owner(user=actor, organization=organization):
        raise ValidationError(
            "Only an owner of the organization can grant or revoke the owner role.", code="owner_required"
        )
    if old_role == Role.OWNER and organization_owner_count(organization=organization) <= 1:
        raise ValidationError(
            "%(organization)s would be left without an owner. Make someone else owner first.",
            code="last_owner",
            params={"organization": organization},
        )


@transaction.atomic
def membership_set(*, organization: Organization, user: User, role: str, actor: User | None) -> Membership:
    """Add the user to the organization with this role, or change their role.

    Only owners grant or revoke the owner role, and an organization always keeps an owner once it has
    one. Console access follows the roles. `actor=None` is the system itself (seeding, directory sync).
    """
    if role not in Role.values:
        raise ValidationError("“%(role)s” is not a role.", code="invalid_role", params={"role": role})
    membership = Membership.objects.select_for_update().filter(organization=organization, user=user).first()
    old_role = membership.role if membership else None
    if old_role == role:
        return membership  # type: ignore[return-value]
    _check_owner_change(organization=organization, actor=actor, old_role=old_role, new_role=role)
    if membership is None:
        membership = Membership(organization=organization, user=user, role=role)
        membership.full_clean()
        membership.save()
        audit_record(
            actor=actor,
            target=membership,
            action="member_added",
            organization=organization,
            changes={"user": user.email, "role": role},
        )
    else:
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(
            actor=actor,
            target=membership,
            action="member_role_changed",
            organization=organization,
            changes={"user": user.email, "role": [old_role, role]},
        )
    _sync_console_access(user)
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User | None) -> None:
    _check_owner_change(organization=membership.organization, actor=actor, old_role=membership.role, new_role=None)
    user, organization = membership.user, membership.organization
    audit_record(
        actor=actor,
        target=membership,
        action="member_removed",
        organization=organization,
        changes={"user": user.email, "role": membership.role},
    )
    membership.delete()
    _sync_console_access(user)


@transaction.atomic
def member_create(*, organization: Organization, email: str, name: str, role: str, actor: User | None) -> User:
    """A new person in an organization, as an IT admin adds them."""
    user = user_create(email=email, name=name, actor=actor)
    membership_set(organization=organization, user=user, role=role, actor=actor)
    return user


#
# The lifecycle every organization connection shares
#
# Helpers of each kind's services (calendar, directory, conferencing), which hold the transaction: they
# join it without a savepoint (`savepoint=False`), so a refusal here rolls the whole step back.

ConnectionT = TypeVar("ConnectionT", bound=OrganizationConnection)


@transaction.atomic(savepoint=False)
def organization_connection_create(
    *,
    model: type[ConnectionT],
    organization: Organization,
    provider: str,
    connected_by: User | None,
    external_id: str = "",
) -> ConnectionT:
    """Start connecting a service: it waits for the provider's authorization."""
    connection = model(organization=organization, provider=provider, connected_by=connected_by, external_id=external_id)
    connection.full_clean()
    connection.save()
    audit_record(actor=connected_by, target=connection, action="connected", changes={"provider": provider})
    return connection


@transaction.atomic(savepoint=False)
def organization_connection_set_external_id(
    *, connection: ConnectionT, actor: User | None, external_id: str
) -> ConnectionT:
    """Record the provider's id for the organization (tenant, customer, company)."""
    if connection.external_id != external_id:
        audit_record(
            actor=actor,
            target=connection,
            action="updated",
            changes={"external_id": [connection.external_id, external_id]},
        )
        connection.external_id = external_id
        connection.full_clean()
        connection.save(update_fields=["external_id", "updated_at"])
    return connection


@transaction.atomic(savepoint=False)
def organization_connection_store_credentials(
    *,
    connection: OrganizationConnection,
    credentials: dict[str, Any] | None,
    granted_scopes: list[str],
    external_id: str = "",
    actor: User | None,
    status: str = ConnectionStatus.ACTIVE,
) -> OrganizationConnection:
    """The provider authorized the connection: keep its credentials (encrypted) and the scopes it granted.

    A kind of connection that is checked before it goes live stores its grant as `pending`.
    """
    if not connection.is_live:
        raise ValidationError(
            "A disconnected service cannot be authorized again; connect a new one.", code="disconnected"
        )
    connection.credentials = credentials
    connection.granted_scopes = list(granted_scopes)
    if external_id:
        connection.external_id = external_id
    connection.status = status
    connection.last_error = ""
    connection.connected_at = timezone.now()
    if actor is not None:
        connection.connected_by = actor
    connection.full_clean()
    connection.save()
    audit_record(
        actor=actor,
        target=connection,
        action="authorized",
        changes={"granted_scopes": connection.granted_scopes},
    )
    return connection


@transaction.atomic
def organization_connection_mark_failed(*, connection: OrganizationConnection, error: str) -> OrganizationConnection:
    """The provider refused us (revoked grant, expired key...): an admin has to look."""
    connection.status = ConnectionStatus.ERROR
    connection.last_error = error[:2000]
    connection.save(update_fields=["status", "last_error", "updated_at"])
    audit_record(
        actor=Actor.provider(str(getattr(connection, "provider", "") or "provider")),
        target=connection,
        action="failed",
        changes={"error": connection.last_error},
    )
    return connection


@transaction.atomic(savepoint=False)
def organization_connection_disconnect(
    *, connection: OrganizationConnection, actor: User | None
) -> OrganizationConnection:
    """Stop using the connection and forget its credentials; the row stays for the record."""
    if not connection.is_live:
        return connection
    connection.status = ConnectionStatus.DISCONNECTED
    connection.credentials = None
    connection.granted_scopes = []
    connection.disconnected_at = timezone.now()
    connection.save(update_fields=["status", "credentials", "granted_scopes", "disconnected_at", "updated_at"])
    audit_record(actor=actor, target=connection, action="disconnected")
    return connection


#
# Invitations: how a person an admin does not already administer joins an organization
#

INVITATION_LIFETIME = timedelta(days=14)


def _invitation_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def organization_invitation_send(
    *, organization: Organization, email: str, role: str, invited_by: User | None
) -> OrganizationInvitation:
    """Email a link that lets the owner of this address join the organization once they accept it,
    signed in as that address. Nothing about them (whether they have an account, where) is told."""
    if role not in Role.values:
        raise ValidationError("“%(role)s” is not a role.", code="invalid_role", params={"role": role})
    _check_owner_change(organization=organization, actor=invited_by, old_role=None, new_role=role)
    token = secrets.token_urlsafe(32)
    invitation = OrganizationInvitation(
        organization=organization,
        email=email.strip().lower(),
        role=role,
        token_digest=_invitation_digest(token),
        invited_by=invited_by,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    invitation.full_clean()
    invitation.save()
    audit_record(
        actor=invited_by,
        target=invitation,
        action="member_invited",
        organization=organization,
        changes={"email": invitation.email, "role": role},
    )
    link = settings.SITE_URL + reverse("organization-invitation", args=[token])
    transaction.on_commit(
        lambda: send_mail(
            f"Join {organization.name}",
            f"{invited_by.get_full_name() if invited_by else 'An administrator'} invites you to join "
            f"{organization.name} as {invitation.get_role_display().lower()}.\n\n"
            f"Sign in as {invitation.email} and accept here (the link works for {INVITATION_LIFETIME.days} days):"
            f"\n{link}\n\nIf you did not expect this, ignore this email: nothing changes until you accept.",
            None,
            [invitation.email],
        )
    )
    return invitation


def organization_invitation_for(*, token: str) -> OrganizationInvitation | None:
    invitation = (
        OrganizationInvitation.objects.select_related("organization")
        .filter(token_digest=_invitation_digest(token))
        .first()
    )
    return invitation if invitation is not None and invitation.is_open else None


@transaction.atomic(durable=True)
def organization_invitation_accept(*, invitation: OrganizationInvitation, user: User) -> Membership:
    """The invited person accepts, signed in with a verified address the invitation was sent to."""
    locked = OrganizationInvitation.objects.select_for_update().get(pk=invitation.pk)
    if not locked.is_open:
        raise ValidationError("This invitation has been used or has expired.", code="closed")
    if not EmailAddress.objects.filter(user=user, email__iexact=locked.email, verified=True).exists():
        raise ValidationError("This invitation was sent to another address.", code="other_address")
    locked.accepted_at, locked.accepted_by = timezone.now(), user
    locked.save(update_fields=["accepted_at", "accepted_by"])
    membership = Membership.objects.filter(organization=locked.organization, user=user).first()
    if membership is None:
        # The person accepts for themselves; the owner rule was checked against the inviter.
        membership = membership_set(organization=locked.organization, user=user, role=locked.role, actor=None)
    audit_record(
        actor=user,
        target=membership,
        action="invitation_accepted",
        organization=locked.organization,
        changes={"email": locked.email, "role": locked.role, "invited_by": str(locked.invited_by or "")},
    )
    return membership
