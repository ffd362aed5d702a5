"""Changes to the sandbox's directories, as an administrator makes them at the provider: people added,
renamed, moved to another unit, suspended, deleted and brought back, in a Google Workspace, a
Microsoft Entra tenant or a SuccessFactors company. `manage.py sandbox_directory` and tests drive
these; the directory endpoints (`sandbox/views/*_directory.py`, `successfactors.py`) report them.

Every change of a mailbox person takes a new global change number (`directory_seq`), which is what
Graph's `users/delta` reports changes after. SuccessFactors reports `lastModifiedDateTime`.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from sandbox.models import Calendar, ChangeCounter, HrUser, Person, Provider, Tenant

FIRST_NAMES = (
    "Ada",
    "Ben",
    "Chen",
    "Dara",
    "Eli",
    "Fatima",
    "Goran",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemal",
    "Lena",
    "Mira",
    "Noor",
    "Oskar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tove",
)
LAST_NAMES = (
    "Abbott",
    "Berg",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Weber",
)
DEPARTMENTS = ("Engineering", "Sales", "Finance", "People", "Legal", "Support")


class DirectoryError(ValueError):
    """The change cannot be made (unknown person, address taken...): said plainly."""


def _take_seqs(count: int) -> int:
    """Reserve `count` consecutive change numbers; returns the first. The counter row stays locked until
    the writer commits, so delta readers never see a later number before an earlier one."""
    ChangeCounter.objects.get_or_create(pk=1)
    ChangeCounter.objects.filter(pk=1).update(value=F("value") + count)
    return ChangeCounter.objects.select_for_update().get(pk=1).value - count + 1


def tenant_find(value: str) -> Tenant:
    """A tenant by its id, its name or one of its domains."""
    wanted = value.strip().lower()
    for tenant in Tenant.objects.all():
        if wanted in (tenant.external_id.lower(), tenant.name.lower(), *(d.lower() for d in tenant.domains)):
            return tenant
    raise DirectoryError(f"No sandbox tenant “{value}” (a customer or tenant id, a name, or a domain).")


@dataclass(frozen=True)
class Entry:
    """What the command prints for a person after a change."""

    provider: str
    tenant: str
    id: str
    email: str
    name: str
    unit: str
    status: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "tenant": self.tenant,
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "unit": self.unit,
            "status": self.status,
        }


def entry_of(person: Person | HrUser) -> Entry:
    if isinstance(person, HrUser):
        return Entry(
            Provider.SUCCESSFACTORS,
            person.tenant.external_id,
            person.user_id,
            person.email,
            person.display_name,
            person.department,
            "active" if person.status == HrUser.Status.ACTIVE else "inactive",
        )
    status = "deleted" if person.deleted_at else "suspended" if person.suspended else "active"
    unit = person.org_unit_path if person.tenant.provider == Provider.GOOGLE else person.department
    return Entry(
        person.tenant.provider, person.tenant.external_id, person.external_id, person.email, person.name, unit, status
    )


def _external_id(provider: str, rng: random.Random | None = None) -> str:
    rng = rng or random.SystemRandom()
    if provider == Provider.GOOGLE:
        return str(rng.randrange(10**20, 10**21))
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _person(tenant: Tenant, key: str) -> Person | HrUser:
    """A person by email or id; SuccessFactors by userId or email."""
    found: Person | HrUser | None
    if tenant.provider == Provider.SUCCESSFACTORS:
        found = (
            HrUser.objects.select_related("tenant").filter(tenant=tenant, user_id=key).first()
            or HrUser.objects.select_related("tenant").filter(tenant=tenant, email__iexact=key).first()
        )
    else:
        people = Person.objects.select_related("tenant").filter(tenant=tenant, kind=Person.Kind.USER)
        found = people.filter(email__iexact=key).first() or people.filter(external_id=key).first()
    if found is None:
        raise DirectoryError(f"Nobody called “{key}” in {tenant.name}.")
    return found


def _touch(person: Person | HrUser, fields: list[str]) -> None:
    if isinstance(person, HrUser):
        person.last_modified = timezone.now()
        person.save(update_fields=[*fields, "last_modified"])
    else:
        person.directory_seq = _take_seqs(1)
        person.save(update_fields=[*fields, "directory_seq"])


def _check_domain(tenant: Tenant, email: str) -> None:
    if tenant.provider != Provider.SUCCESSFACTORS and email.rsplit("@", 1)[-1].lower() not in tenant.domains:
        raise DirectoryError(f"{email} is not in {tenant.name}'s domains ({', '.join(tenant.domains)}).")


@transaction.atomic
def person_add(*, tenant: Tenant, email: str, name: str, unit: str = "", user_id: str = "") -> Entry:
    """A new active person (a mailbox with a calendar for Google and Microsoft)."""
    email = email.strip().lower()
    _check_domain(tenant, email)
    first, _, last = name.partition(" ")
    if tenant.provider == Provider.SUCCESSFACTORS:
        user_id = user_id or email.split("@")[0]
        if HrUser.objects.filter(tenant=tenant, user_id=user_id).exists():
            raise DirectoryError(f"{user_id} already exists in {tenant.name}.")
        hr_user = HrUser.objects.create(
            tenant=tenant,
            user_id=user_id,
            username=user_id,
            email=email,
            first_name=first,
            last_name=last,
            department=unit,
        )
        return entry_of(hr_user)
    if Person.objects.filter(email__iexact=email).exists():
        raise DirectoryError(f"{email} already exists.")
    values: dict[str, Any] = {"org_unit_path": unit or "/"} if tenant.provider == Provider.GOOGLE else {}
    if tenant.provider == Provider.MICROSOFT:
        values["department"] = unit
    person = Person.objects.create(
        tenant=tenant,
        email=email,
        name=name,
        external_id=_external_id(tenant.provider),
        directory_seq=_take_seqs(1),
        **values,
    )
    Calendar.objects.create(
        owner=person,
        calendar_id=email if tenant.provider == Provider.GOOGLE else f"AAMkAGsbx{uuid.uuid4().hex}AAA=",
        name=email,
        is_primary=True,
        time_zone=person.time_zone,
    )
    return entry_of(person)


@transaction.atomic
def person_rename(*, tenant: Tenant, key: str, email: str = "", name: str = "") -> Entry:
    """A new primary address or display name; the provider's id stays."""
    person = _person(tenant, key)
    fields = []
    if email:
        email = email.strip().lower()
        _check_domain(tenant, email)
        if isinstance(person, Person):
            if Person.objects.filter(email__iexact=email).exclude(pk=person.pk).exists():
                raise DirectoryError(f"{email} is already taken.")
            if tenant.provider == Provider.GOOGLE:
                person.calendars.filter(calendar_id__iexact=person.email).update(calendar_id=email)
        person.email = email
        fields.append("email")
    if name:
        if isinstance(person, HrUser):
            person.first_name, _, person.last_name = name.partition(" ")
            fields += ["first_name", "last_name"]
        else:
            person.name = name
            fields.append("name")
    if fields:
        _touch(person, fields)
    return entry_of(person)


@transaction.atomic
def person_move(*, tenant: Tenant, key: str, unit: str) -> Entry:
    """Another organizational unit (Google) or department (Microsoft, SuccessFactors)."""
    person = _person(tenant, key)
    if isinstance(person, HrUser) or tenant.provider == Provider.MICROSOFT:
        person.department = unit
        _touch(person, ["department"])
    else:
        person.org_unit_path = unit if unit.startswith("/") else f"/{unit}"
        _touch(person, ["org_unit_path"])
    return entry_of(person)


@transaction.atomic
def person_suspend(*, tenant: Tenant, key: str, suspended: bool = True) -> Entry:
    """Suspended (Google), sign-in blocked (Microsoft `accountEnabled: false`), inactive (SuccessFactors);
    or the reverse."""
    person = _person(tenant, key)
    if isinstance(person, HrUser):
        person.status = HrUser.Status.INACTIVE if suspended else HrUser.Status.ACTIVE
        _touch(person, ["status"])
    else:
        person.suspended = suspended
        fields = ["suspended"]
        if not suspended and person.deleted_at is not None:
            person.deleted_at = None  # restored from the recycle bin
            fields.append("deleted_at")
        _touch(person, fields)
    return entry_of(person)


@transaction.atomic
def person_delete(*, tenant: Tenant, key: str) -> Entry:
    """Deleted. SuccessFactors never deletes an employee: they become inactive."""
    person = _person(tenant, key)
    if isinstance(person, HrUser):
        person.status = HrUser.Status.INACTIVE
        _touch(person, ["status"])
    else:
        person.deleted_at = timezone.now()
        _touch(person, ["deleted_at"])
    return entry_of(person)


def _name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def tenant_grow(*, tenant: Tenant, size: int, seed: str = "grow") -> int:
    """Add generated people until the tenant has `size` active ones (for benchmarks); returns how many
    were added. Written in bulk: a 10,000-person tenant takes seconds."""
    rng = random.Random(f"{tenant.external_id}-{seed}")  # noqa: S311  # generated demo people
    domain = tenant.primary_domain or f"{tenant.external_id.lower()}.example"
    with transaction.atomic():
        if tenant.provider == Provider.SUCCESSFACTORS:
            existing = HrUser.objects.filter(tenant=tenant, status=HrUser.Status.ACTIVE).count()
            missing = max(0, size - existing)
            taken = set(HrUser.objects.filter(tenant=tenant).values_list("user_id", flat=True))
            rows: list[HrUser] = []
            number = 0
            while len(rows) < missing:
                number += 1
                user_id = f"{seed}{number:05d}"
                if user_id in taken:
                    continue
                first, last = _name(rng)
                rows.append(
                    HrUser(
                        tenant=tenant,
                        user_id=user_id,
                        username=user_id,
                        email=f"{first}.{last}.{number}@{domain}".lower(),
                        first_name=first,
                        last_name=last,
                        department=rng.choice(DEPARTMENTS),
                    )
                )
            HrUser.objects.bulk_create(rows, batch_size=1000)
            return len(rows)
        existing = Person.objects.filter(
            tenant=tenant, kind=Person.Kind.USER, deleted_at__isnull=True, suspended=False
        ).count()
        missing = max(0, size - existing)
        if not missing:
            return 0
        first_seq = _take_seqs(missing)
        taken = set(Person.objects.filter(tenant=tenant).values_list("email", flat=True))
        people: list[Person] = []
        number = 0
        while len(people) < missing:
            number += 1
            first, last = _name(rng)
            email = f"{first}.{last}.{seed}{number}@{domain}".lower()
            if email in taken:
                continue
            unit = rng.choice(DEPARTMENTS)
            people.append(
                Person(
                    tenant=tenant,
                    email=email,
                    name=f"{first} {last}",
                    external_id=_external_id(tenant.provider, rng),
                    org_unit_path=f"/{unit}" if tenant.provider == Provider.GOOGLE else "/",
                    department=unit if tenant.provider == Provider.MICROSOFT else "",
                    directory_seq=first_seq + len(people),
                )
            )
        Person.objects.bulk_create(people, batch_size=1000)
        return len(people)


def tenant_change_some(*, tenant: Tenant, count: int, seed: str = "churn") -> list[Entry]:
    """`count` changes spread over a tenant's generated people: renames, moves and suspensions in turn
    (for benchmarks of incremental rounds)."""
    rng = random.Random(f"{tenant.external_id}-{seed}")  # noqa: S311  # generated demo changes
    if tenant.provider == Provider.SUCCESSFACTORS:
        keys = list(HrUser.objects.filter(tenant=tenant, status=HrUser.Status.ACTIVE).values_list("user_id", flat=True))
    else:
        keys = list(
            Person.objects.filter(
                tenant=tenant, kind=Person.Kind.USER, deleted_at__isnull=True, suspended=False, is_admin=False
            ).values_list("email", flat=True)
        )
    changed = []
    for index, key in enumerate(rng.sample(keys, min(count, len(keys)))):
        kind = index % 3
        if kind == 0:
            changed.append(person_rename(tenant=tenant, key=key, name=f"Renamed {index}"))
        elif kind == 1:
            changed.append(person_move(tenant=tenant, key=key, unit=rng.choice(DEPARTMENTS) + " 2"))
        else:
            changed.append(person_suspend(tenant=tenant, key=key))
    return changed


def deleted_long_ago(person: Person) -> bool:
    """Google lists deleted users for 20 days; after that they are simply gone."""
    return person.deleted_at is not None and person.deleted_at < timezone.now() - timedelta(days=20)
