"""Offboarding one person a directory no longer lists as active in the organization's domains.

In order: their memberships in the organization (and its units) end, and the account is deactivated
unless it still belongs to another organization; their calendar profiles there are disconnected, with
`profile_disconnected` queued for every integrator channel of theirs; then `person_offboarded` is sent,
on which bookings handles their future bookings by the organization's policy and the OAuth server
revokes every application's grant and token. Each step is in the audit trail.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.lifecycle import person_offboarded
from accounts.models import Membership
from accounts.services import audit_record, membership_remove
from calendars.choices import ProfileStatus
from calendars.models import CalendarProfile
from calendars.notifications import profile_disconnected_notify
from calendars.services import calendar_profile_disconnect
from directory.models import DirectoryService, DirectoryUser


class OffboardingBlocked(Exception):
    """The person cannot be offboarded yet (the last owner of a unit): nothing was changed for them."""


def directory_user_offboard(
    *, service: DirectoryService, entry: DirectoryUser, reason: str, organization_ids: frozenset[int]
) -> None:
    """Offboard the person behind `entry`; raises OffboardingBlocked, changing nothing, when one of their
    memberships cannot end (an organization would be left without an owner)."""
    user = entry.user
    if user is None:
        return  # never onboarded: nothing to end
    with transaction.atomic():
        memberships = list(
            Membership.objects.select_for_update()
            .filter(user=user, organization_id__in=organization_ids)
            .select_related("organization", "user")
        )
        try:
            for membership in memberships:
                membership_remove(membership=membership, actor=None)
        except ValidationError as error:
            raise OffboardingBlocked(f"{user.email}: {' '.join(error.messages)}") from None
        elsewhere = Membership.objects.filter(user=user).exists()
        if not elsewhere and user.is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])
        entry.offboarded_at = timezone.now()
        entry.offboard_reason = reason[:200]
        entry.save(update_fields=["offboarded_at", "offboard_reason", "updated_at"])
        audit_record(
            actor=None,
            target=user,
            action="offboarded",
            organization=service.organization,
            changes={"reason": reason, "directory": service.public_id, "deactivated": not elsewhere},
        )
    profiles = CalendarProfile.objects.filter(user=user).exclude(status=ProfileStatus.DISCONNECTED)
    if elsewhere:
        profiles = profiles.filter(organization_id__in=organization_ids)
    for profile in profiles:
        # Told while the person's grants still stand: channels of revoked grants hear nothing more.
        profile_disconnected_notify(profile=profile)
        calendar_profile_disconnect(profile=profile, actor=None)
    person_offboarded.send(
        sender=DirectoryService,
        user=user,
        organization=service.organization,
        reason=reason,
        bookings_policy=service.offboarding_policy,
        handover_to=service.handover_to,
        source=str(service),
    )
