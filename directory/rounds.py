"""Directory rounds: read a directory, plan what it means, stop if the plan would offboard too many
people, then apply it page by page.

Everything is read before anything is written, so a provider that fails mid-round changes nothing;
the round is recorded as failed and retried later with backoff. One round per service runs at a time
(the database refuses a second running round; a round whose worker died is recognised by its lapsed
lease). Applying is idempotent: a round that applies what an earlier one already did changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import ConnectionStatus, User
from accounts.services import audit_record, organization_connection_mark_failed
from calendars.providers.base import ProviderAuthError, ProviderError, ProviderPermissionError, SyncCursorExpired
from directory.clients import NotAuthorized, directory_client_for
from directory.models import DirectoryResource, DirectoryRound, DirectoryService, DirectoryUser, RoundStatus
from directory.offboarding import OffboardingBlocked, directory_user_offboard
from directory.onboarding import directory_people_onboard, directory_people_record, directory_person_update
from directory.providers.base import DirectoryClient, DirectoryPerson, DirectoryRoom, PeopleListing, PersonStatus
from directory.selectors import Placement, directory_placement

logger = logging.getLogger(__name__)

ROUND_LEASE = timedelta(minutes=30)
NAMES_KEPT = 100  # names per kind of change kept on a round: enough to review, bounded for 10,000 people
T = TypeVar("T")


class RoundBusy(Exception):
    """Another round of this directory is running."""


@dataclass
class Plan:
    """What a round would do, from what the directory said and what we knew."""

    onboard: list[tuple[DirectoryPerson, DirectoryUser | None]] = field(default_factory=list)
    update: list[tuple[DirectoryPerson, DirectoryUser, list[str]]] = field(default_factory=list)
    offboard: list[tuple[DirectoryUser, str]] = field(default_factory=list)
    record: list[tuple[DirectoryPerson, DirectoryUser | None]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unchanged: int = 0
    population: int = 0  # people onboarded before the round

    def counts(self) -> dict[str, int]:
        kinds = [kind for _, _, kinds in self.update for kind in kinds]
        return {
            "onboard": len(self.onboard),
            "reactivate": sum(1 for _, entry in self.onboard if entry is not None and entry.offboarded_at),
            "offboard": len(self.offboard),
            "move": kinds.count("move"),
            "rename": kinds.count("rename"),
            "unchanged": self.unchanged,
            "not_onboarded": len(self.record),
        }

    def names(self) -> dict[str, list[dict[str, str]]]:
        moves = [(p, e) for p, e, kinds in self.update if "move" in kinds]
        renames = [(p, e) for p, e, kinds in self.update if "rename" in kinds]
        return {
            "onboard": [{"email": p.email, "name": p.name} for p, _ in self.onboard[:NAMES_KEPT]],
            "offboard": [{"email": e.email, "name": e.name, "reason": r} for e, r in self.offboard[:NAMES_KEPT]],
            "move": [{"email": p.email, "name": p.name, "from": e.unit, "to": p.unit} for p, e in moves[:NAMES_KEPT]],
            "rename": [{"email": p.email, "name": p.name, "was": e.email} for p, e in renames[:NAMES_KEPT]],
        }


@dataclass
class RoundOutcome:
    round: DirectoryRound
    retryable: bool = False
    retry_after: float | None = None


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]


def _offboard_reason(person: DirectoryPerson | None, placement: Placement) -> str | None:
    """Why a known person must be offboarded, or None when they stay."""
    if person is None:
        return "no longer listed by the directory"
    if person.status == PersonStatus.DELETED:
        return "deleted from the directory"
    if person.status == PersonStatus.SUSPENDED:
        return "suspended in the directory"
    if not placement.accepts(person.email):
        return f"moved out of the organization's domains ({person.email})"
    return None


def directory_round_plan(*, service: DirectoryService, listing: PeopleListing, placement: Placement) -> Plan:
    """Compare what the directory says with what we know, person by person (by the provider's id)."""
    known = {entry.external_id: entry for entry in DirectoryUser.objects.filter(service=service).select_related("user")}
    plan = Plan(population=sum(1 for entry in known.values() if entry.is_onboarded))
    listed: dict[str, DirectoryPerson] = {}
    for page in listing.pages:
        for person in page:
            entry = known.get(person.external_id)
            if not person.email and entry is not None:
                # Graph reports a deletion by id alone.
                person = replace(person, email=entry.email, name=entry.name, unit=entry.unit)
            listed[person.external_id] = person
    claimed: dict[str, str] = {}
    for external_id, person in listed.items():
        entry = known.get(external_id)
        reason = _offboard_reason(person, placement)
        if entry is not None and entry.user is not None and entry.offboarded_at is None:
            if reason is not None:
                plan.offboard.append((entry, reason))
                continue
            kinds = []
            if person.email != entry.user.email or (person.name and person.name[:150] != entry.user.name):
                kinds.append("rename")
            if placement.unit_for(person.unit).pk != entry.placed_in_id:
                kinds.append("move")
            if kinds:
                plan.update.append((person, entry, kinds))
            else:
                plan.unchanged += 1
                if (entry.status, entry.unit, entry.name) != (person.status.value, person.unit, person.name):
                    plan.record.append((person, entry))
            continue
        if reason is None:
            if person.email in claimed:
                plan.skipped.append(f"{person.email} is listed twice ({claimed[person.email]} and {external_id}).")
                continue
            claimed[person.email] = external_id
            plan.onboard.append((person, entry))
        elif entry is None or (entry.status, entry.email, entry.unit) != (
            person.status.value,
            person.email,
            person.unit,
        ):
            plan.record.append((person, entry))
    if listing.full:
        for external_id, entry in known.items():
            if external_id not in listed and entry.is_onboarded:
                plan.offboard.append((entry, "no longer listed by the directory"))
    return plan


def over_threshold(*, service: DirectoryService, plan: Plan, allowed: int | None) -> bool:
    """Whether the plan offboards more than the service's share of its people, beyond what an admin
    confirmed. An empty or wrong answer from the directory then never wipes the organization."""
    count = len(plan.offboard)
    if count == 0 or (allowed is not None and count <= allowed):
        return False
    return count > plan.population * service.offboarding_threshold / 100


#
# Starting, running and finishing a round
#


def directory_round_start(
    *,
    service: DirectoryService,
    dry_run: bool = False,
    full: bool = False,
    requested_by: User | None = None,
    offboarding_allowed: int | None = None,
    attempt: int = 1,
) -> DirectoryRound:
    """Claim the service for one round; RoundBusy when another round holds it."""
    now = timezone.now()
    try:
        with transaction.atomic(durable=True):
            locked = DirectoryService.objects.select_for_update().get(pk=service.pk)
            locked.rounds.filter(status=RoundStatus.RUNNING, lease_until__lt=now).update(
                status=RoundStatus.FAILED, finished_at=now, errors=["The worker running this round stopped."]
            )
            if locked.rounds.filter(status=RoundStatus.RUNNING).exists():
                raise RoundBusy(f"A round of {locked} is already running.")
            if locked.status not in (ConnectionStatus.ACTIVE, ConnectionStatus.ERROR):
                raise ValidationError("Authorize the directory service at its provider first.")
            if not dry_run:
                # Once an admin has run a round, the schedule runs the next ones (whatever this one's fate).
                locked.next_round_at = now + locked.round_interval
                locked.save(update_fields=["next_round_at"])
            return DirectoryRound.objects.create(
                service=locked,
                full=full or not locked.cursor,
                dry_run=dry_run,
                requested_by=requested_by,
                started_at=now,
                lease_until=now + ROUND_LEASE,
                offboarding_allowed=offboarding_allowed,
                attempt=attempt,
            )
    except IntegrityError:
        raise RoundBusy(f"A round of {service} is already running.") from None


def _progress(round_: DirectoryRound, **counts: int) -> None:
    # Outside any transaction: the console shows it while the round runs, and the lease is renewed.
    DirectoryRound.objects.filter(pk=round_.pk).update(lease_until=timezone.now() + ROUND_LEASE, **counts)


def _finish(round_: DirectoryRound, status: str, *, started: float, errors: list[str] | None = None) -> DirectoryRound:
    round_.status = status
    round_.finished_at = timezone.now()
    round_.errors = [*round_.errors, *(errors or [])]
    round_.counts = {**round_.counts, "seconds": round(time.perf_counter() - started, 3)}
    round_.save(update_fields=["status", "finished_at", "errors", "counts", "full", "changes"])
    return round_


def _read(
    client: DirectoryClient, service: DirectoryService, round_: DirectoryRound
) -> tuple[list[str], list[DirectoryRoom], PeopleListing]:
    domains = client.verified_domains()
    rooms = client.rooms()

    def progress(count: int) -> None:
        _progress(round_, people_read=count)

    cursor = None if round_.full else service.cursor
    try:
        listing = client.people(cursor=cursor, progress=progress)
    except SyncCursorExpired:
        round_.full = True
        listing = client.people(cursor=None, progress=progress)
    return domains, rooms, listing


def directory_round_run(*, round_: DirectoryRound, client: DirectoryClient | None = None) -> RoundOutcome:
    """Read the directory, plan, and unless the round is a preview or stops at the threshold, apply."""
    started = time.perf_counter()
    service = DirectoryService.objects.select_related("organization", "handover_to", "default_unit").get(
        pk=round_.service_id
    )
    try:
        client = client or directory_client_for(service)
        domains, rooms, listing = _read(client, service, round_)
    except (ProviderAuthError, ProviderPermissionError, NotAuthorized) as error:
        organization_connection_mark_failed(connection=service, error=str(error))
        return RoundOutcome(_finish(round_, RoundStatus.FAILED, started=started, errors=[str(error)]))
    except ProviderError as error:
        round_.errors = [f"The provider failed: {error} (nothing was changed; retried later)."]
        return RoundOutcome(
            _finish(round_, RoundStatus.FAILED, started=started),
            retryable=error.retryable,
            retry_after=error.retry_after,
        )
    placement = directory_placement(service=service, provider_domains=domains)
    plan = directory_round_plan(service=service, listing=listing, placement=placement)
    round_.people_read = listing.count
    round_.counts = plan.counts()
    round_.changes = plan.names()
    round_.save(update_fields=["people_read", "counts", "changes", "full"])
    if round_.dry_run:
        return RoundOutcome(_finish(round_, RoundStatus.PREVIEWED, started=started, errors=plan.skipped))
    if over_threshold(service=service, plan=plan, allowed=round_.offboarding_allowed):
        audit_record(
            actor=None,
            target=service,
            action="round_stopped_at_threshold",
            changes={
                "offboard": len(plan.offboard),
                "people": plan.population,
                "threshold": service.offboarding_threshold,
            },
        )
        return RoundOutcome(_finish(round_, RoundStatus.WAITING, started=started, errors=plan.skipped))
    errors = _apply(round_=round_, service=service, plan=plan, placement=placement, rooms=rooms)
    with transaction.atomic():
        locked = DirectoryService.objects.select_for_update().get(pk=service.pk)
        locked.provider_domains = domains
        locked.cursor = listing.cursor
        locked.last_synced_at = timezone.now()
        if locked.status == ConnectionStatus.ERROR:
            locked.status, locked.last_error = ConnectionStatus.ACTIVE, ""
        locked.save(
            update_fields=["provider_domains", "cursor", "last_synced_at", "status", "last_error", "updated_at"]
        )
    return RoundOutcome(_finish(round_, RoundStatus.SUCCEEDED, started=started, errors=[*plan.skipped, *errors]))


def _apply(
    *, round_: DirectoryRound, service: DirectoryService, plan: Plan, placement: Placement, rooms: list[DirectoryRoom]
) -> list[str]:
    """Apply a plan, a page at a time; per-person failures are collected, never fatal to the round."""
    errors: list[str] = []
    size = settings.DIRECTORY_PAGE_SIZE
    applied = 0
    for chunk in _chunks(plan.record, size):
        with transaction.atomic():
            directory_people_record(service=service, people=chunk)
    for chunk in _chunks(plan.onboard, size):
        with transaction.atomic():
            directory_people_onboard(service=service, placement=placement, people=chunk)
        applied += len(chunk)
        _progress(round_, people_applied=applied)
    for person, entry, _ in plan.update:
        try:
            directory_person_update(service=service, placement=placement, person=person, entry=entry)
        except ValidationError as error:
            errors.append(f"{entry.email}: {' '.join(error.messages)}")
    for entry, reason in plan.offboard:
        try:
            directory_user_offboard(
                service=service, entry=entry, reason=reason, organization_ids=placement.organization_ids
            )
        except OffboardingBlocked as error:
            errors.append(f"Not offboarded yet: {error}")
    _progress(round_, people_applied=applied + len(plan.update) + len(plan.offboard))
    added, removed = directory_rooms_apply(service=service, rooms=rooms)
    round_.counts = {**round_.counts, "rooms_added": added, "rooms_removed": removed}
    return errors


@transaction.atomic
def directory_rooms_apply(*, service: DirectoryService, rooms: list[DirectoryRoom]) -> tuple[int, int]:
    """Make the service's rooms match the directory's list; returns (added or restored, removed)."""
    known = {room.external_id: room for room in service.resources.all()}
    listed = {room.external_id for room in rooms}
    added, changed = [], []
    for room in rooms:
        values: dict[str, Any] = {
            "email": room.email,
            "name": room.name[:254],
            "capacity": room.capacity,
            "building": room.building[:200],
            "floor": room.floor[:100],
        }
        row = known.get(room.external_id)
        if row is None:
            added.append(DirectoryResource(service=service, external_id=room.external_id, **values))
            continue
        restored = row.removed_at is not None
        if restored or any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.removed_at = None
            changed.append(row)
            if restored:
                added.append(row)
    DirectoryResource.objects.bulk_create([row for row in added if row.pk is None])
    DirectoryResource.objects.bulk_update(changed, ["email", "name", "capacity", "building", "floor", "removed_at"])
    gone = [row.pk for external_id, row in known.items() if external_id not in listed and row.removed_at is None]
    DirectoryResource.objects.filter(pk__in=gone).update(removed_at=timezone.now())
    return len(added), len(gone)


def directory_round(
    *,
    service: DirectoryService,
    dry_run: bool = False,
    full: bool = False,
    requested_by: User | None = None,
    offboarding_allowed: int | None = None,
    attempt: int = 1,
    client: DirectoryClient | None = None,
) -> RoundOutcome:
    """One round, start to finish: what the schedule, the console and `manage.py directory_sync` run."""
    round_ = directory_round_start(
        service=service,
        dry_run=dry_run,
        full=full,
        requested_by=requested_by,
        offboarding_allowed=offboarding_allowed,
        attempt=attempt,
    )
    return directory_round_run(round_=round_, client=client)


@transaction.atomic(durable=True)
def directory_round_confirm(*, round_: DirectoryRound, actor: User) -> DirectoryRound:
    """An admin confirms the offboarding a round stopped at: the next round may offboard as many people as
    this one would have (and no more)."""
    locked = DirectoryRound.objects.select_for_update().get(pk=round_.pk)
    if locked.status != RoundStatus.WAITING or locked.confirmed_by_id is not None:
        raise ValidationError("This round is not waiting for a confirmation.")
    locked.confirmed_by = actor
    locked.save(update_fields=["confirmed_by"])
    audit_record(
        actor=actor,
        target=locked.service,
        action="offboarding_confirmed",
        changes={"offboard": locked.counts.get("offboard", 0), "round": locked.pk},
    )
    return locked
