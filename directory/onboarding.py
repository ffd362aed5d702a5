"""Onboarding a page of directory people at once, and keeping known people in step (renames, moves).

A page costs a fixed number of queries whatever its size: accounts, addresses, memberships, directory
rows and audit lines are read and written in bulk, and profiles come through the calendar services in
bulk. The directory proves each address, so accounts it creates are verified, and an existing account
whose address nobody had proven is claimed for the directory's person: its password is cleared (whoever
set it never proved the mailbox) and the address marked verified.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, Organization, Role, User
from accounts.services import audit_record, audit_record_many, membership_remove, membership_set
from calendars.choices import ProfileStatus
from calendars.models import CalendarProfile, CalendarService
from calendars.provisioning import calendar_profiles_provision
from calendars.services import calendar_profile_disconnect
from directory.models import DirectoryService, DirectoryUser, EntryStatus
from directory.providers.base import DirectoryPerson
from directory.selectors import Placement


@dataclass
class PageResult:
    onboarded: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _entry_values(person: DirectoryPerson) -> dict[str, str]:
    return {
        "email": person.email,
        "name": person.name[:254],
        "status": EntryStatus(person.status.value),
        "unit": person.unit[:200],
        "manager_external_id": person.manager_id[:200],
    }


@transaction.atomic(savepoint=False)
def directory_people_record(
    *, service: DirectoryService, people: list[tuple[DirectoryPerson, DirectoryUser | None]]
) -> None:
    """Keep what the directory says about people who are not onboarded (outside the domains, suspended):
    a person who comes back later is then known by the provider's id. Two queries."""
    new, known = [], []
    for person, entry in people:
        if entry is None:
            new.append(DirectoryUser(service=service, external_id=person.external_id, **_entry_values(person)))
        else:
            for name, value in _entry_values(person).items():
                setattr(entry, name, value)
            known.append(entry)
    DirectoryUser.objects.bulk_create(new, ignore_conflicts=True)
    DirectoryUser.objects.bulk_update(known, ["email", "name", "status", "unit", "manager_external_id"])


@transaction.atomic(savepoint=False)
def directory_people_onboard(
    *,
    service: DirectoryService,
    placement: Placement,
    people: list[tuple[DirectoryPerson, DirectoryUser | None]],
) -> PageResult:
    """Every one of these active people of accepted domains gets an account (an existing one by address,
    or a new verified one), a membership in the unit the mapping gives, and a profile through the
    calendar service of their domain, in its mode."""
    result = PageResult()
    if not people:
        return result
    now = timezone.now()
    emails = [person.email for person, _ in people]
    by_email = {user.email: user for user in User.objects.filter(email__in=emails)}
    # An account one directory row already holds keeps it, even if the address changed meanwhile.
    by_entry = {entry.pk: entry.user for _, entry in people if entry is not None and entry.user_id is not None}
    addresses = {
        address.user_id: address
        for address in EmailAddress.objects.filter(user__in=list(by_email.values()), email__in=emails)
    }
    users: dict[str, User] = {}
    new_users, claimed, reactivated, renamed = [], [], [], []
    for person, entry in people:
        user = by_entry.get(entry.pk) if entry is not None else None
        user = user if user is not None and user.email == person.email else by_email.get(person.email)
        if user is None:
            user = User(email=person.email, name=person.name[:150])
            user.set_unusable_password()  # they sign in by resetting it, or through their provider
            new_users.append(user)
        else:
            address = addresses.get(user.pk)
            if address is None or not address.verified:
                user.set_unusable_password()
                claimed.append(user)
            if not user.is_active:
                user.is_active = True
                reactivated.append(user)
            if person.name and user.name != person.name[:150]:
                user.name = person.name[:150]  # the directory is the source of truth for names too
                renamed.append(user)
        users[person.external_id] = user
    User.objects.bulk_create(new_users)
    if claimed:
        User.objects.bulk_update(claimed, ["password"])
    if reactivated or renamed:
        User.objects.bulk_update(list({u.pk: u for u in [*reactivated, *renamed]}.values()), ["is_active", "name"])
    verified_now = [u for u in claimed if u.pk in addresses]
    EmailAddress.objects.filter(pk__in=[addresses[u.pk].pk for u in verified_now]).update(verified=True, primary=True)
    EmailAddress.objects.bulk_create(
        [
            EmailAddress(user=user, email=user.email, primary=True, verified=True)
            for user in [*new_users, *claimed]
            if user.pk not in addresses
        ]
    )

    targets = {person.external_id: placement.unit_for(person.unit) for person, _ in people}
    existing = set(
        Membership.objects.filter(user__in=list(users.values()), organization__in=set(targets.values())).values_list(
            "user_id", "organization_id"
        )
    )
    memberships = []
    for person, _ in people:
        user, unit = users[person.external_id], targets[person.external_id]
        if (user.pk, unit.pk) not in existing:
            existing.add((user.pk, unit.pk))
            memberships.append(Membership(user=user, organization=unit, role=Role.MEMBER))
    Membership.objects.bulk_create(memberships)

    new_entries, known_entries = [], []
    for person, entry in people:
        values = _entry_values(person)
        if entry is None:
            entry = DirectoryUser(service=service, external_id=person.external_id, **values)
            new_entries.append(entry)
        else:
            for name, value in values.items():
                setattr(entry, name, value)
            known_entries.append(entry)
        entry.user, entry.placed_in = users[person.external_id], targets[person.external_id]
        entry.onboarded_at, entry.offboarded_at, entry.offboard_reason = now, None, ""
    DirectoryUser.objects.bulk_create(new_entries)
    DirectoryUser.objects.bulk_update(
        known_entries,
        [
            "email",
            "name",
            "status",
            "unit",
            "manager_external_id",
            "user",
            "placed_in",
            "onboarded_at",
            "offboarded_at",
            "offboard_reason",
        ],
    )

    by_service: dict[int, tuple[CalendarService, list[User]]] = {}
    for person, _ in people:
        calendar_service = placement.calendar_service_for(person.email)
        if calendar_service is not None:
            by_service.setdefault(calendar_service.pk, (calendar_service, []))[1].append(users[person.external_id])
    for calendar_service, members in by_service.values():
        calendar_profiles_provision(service=calendar_service, users=members)

    audit: list[dict[str, object]] = []
    for user in new_users:
        audit.append(
            {
                "target": user,
                "action": "user_created",
                "organization": service.organization,
                "changes": {"source": service.public_id},
            }
        )
    for user in claimed:
        audit.append(
            {
                "target": user,
                "action": "address_proven_by_directory",
                "organization": service.organization,
                "changes": {"password": "cleared: nobody had proven the address"},
            }
        )
    for membership in memberships:
        audit.append(
            {
                "target": membership,
                "action": "member_added",
                "organization": membership.organization,
                "changes": {"user": membership.user.email, "role": membership.role, "source": service.public_id},
            }
        )
    for person, _ in people:
        audit.append(
            {
                "target": users[person.external_id],
                "action": "onboarded",
                "organization": service.organization,
                "changes": {"directory": service.public_id, "unit": person.unit},
            }
        )
        result.onboarded.append(person.email)
    audit_record_many(audit)
    return result


def directory_person_update(
    *, service: DirectoryService, placement: Placement, person: DirectoryPerson, entry: DirectoryUser
) -> list[str]:
    """An onboarded person the directory renamed or moved: the account's address and name follow, the
    profile through the organization's calendar service follows the address (a new service when the
    domain is another service's), and the membership follows the unit. Returns what changed."""
    changed: list[str] = []
    user = entry.user
    if user is None:
        raise ValidationError(f"{entry.email} has no account to update.")
    old_profiles: list[CalendarProfile] = []
    with transaction.atomic():
        if person.email != user.email:
            if User.objects.filter(email=person.email).exclude(pk=user.pk).exists():
                raise ValidationError(f"{person.email} is already another account's address here.")
            audit_record(
                actor=None,
                target=user,
                action="renamed_by_directory",
                organization=service.organization,
                changes={"email": [user.email, person.email], "directory": service.public_id},
            )
            user.email = person.email
            user.save(update_fields=["email"])
            EmailAddress.objects.filter(user=user).delete()
            EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
            new_service = placement.calendar_service_for(user.email)
            for profile in CalendarProfile.objects.filter(user=user, calendar_service__isnull=False).exclude(
                status=ProfileStatus.DISCONNECTED
            ):
                if new_service is not None and profile.calendar_service_id == new_service.pk:
                    profile.profile_name = user.email
                    profile.provider_account_id = user.email if profile.provider_account_id else ""
                    profile.save(update_fields=["profile_name", "provider_account_id", "updated_at"])
                elif (
                    profile.calendar_service and profile.calendar_service.organization_id in placement.organization_ids
                ):
                    old_profiles.append(profile)
            changed.append("rename")
        if person.name and person.name[:150] != user.name:
            user.name = person.name[:150]
            user.save(update_fields=["name"])
            if "rename" not in changed:
                changed.append("rename")
        unit = placement.unit_for(person.unit)
        if entry.placed_in_id != unit.pk:
            old = (
                Membership.objects.filter(user=user, organization_id=entry.placed_in_id, role=Role.MEMBER).first()
                if entry.placed_in_id is not None
                else None
            )
            membership_set(organization=unit, user=user, role=_role_in(user, unit), actor=None)
            if old is not None and old.organization_id != unit.pk:
                membership_remove(membership=old, actor=None)
            audit_record(
                actor=None,
                target=user,
                action="moved_by_directory",
                organization=service.organization,
                changes={"unit": [entry.unit, person.unit], "to": str(unit)},
            )
            entry.placed_in = unit
            changed.append("move")
        for name, value in _entry_values(person).items():
            setattr(entry, name, value)
        entry.save()
    # A profile whose domain is now another service's: the old one goes (it reached the provider under
    # the old address), the new service provisions the new address.
    for profile in old_profiles:
        calendar_profile_disconnect(profile=profile, actor=None)
    new_service = placement.calendar_service_for(user.email)
    if old_profiles and new_service is not None:
        with transaction.atomic():
            calendar_profiles_provision(service=new_service, users=[user])
    return changed


def _role_in(user: User, organization: Organization) -> str:
    """A person moved into a unit keeps a role they already hold there."""
    existing = Membership.objects.filter(user=user, organization=organization).first()
    return existing.role if existing else Role.MEMBER
