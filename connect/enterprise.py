"""Enterprise Connect: an organization's admin grants an integrator application access to the
organization's people once (a service account), and the integrator then asks for each person by email
(`POST /v1/service_account_authorizations`) without any consent of theirs: the organization's grant
covers them.

Each request is a row before anything else happens; a task resolves it (the person must be served by a
calendar service of the granting organization or a unit below it; the scope must be within the
delegated scope; the person's calendar service's mode, and the admin's choice of mode for
free_busy_write, bound what the account token can do) and the answer (a code, or an error such as
`unable_to_grant_scope`) is POSTed to the integrator's `callback_url` through the outbound guard, with
retries from the outbox.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import requests
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from accounts import api_scopes
from accounts.actors import Actor
from accounts.models import ConnectionStatus, ServiceAccount, ServiceAccountAuthorization, User
from accounts.oauth import authorization_code_issue, live_service_accounts
from accounts.selectors import organization_subtree_ids
from accounts.services import audit_record
from calendars.access_modes import lowest_mode, policy_for
from calendars.choices import ProfileStatus, profile_provider_name
from calendars.models import CalendarProfile, CalendarService
from calendars.notifications import SIGNATURE_HEADER, signature
from calendars.provisioning import verified_address
from calendars.selectors import calendar_service_for_email, calendar_service_holds_grant
from calendars.services import calendar_service_provision_person
from core.outbound import OutboundRefused, outbound_post
from core.outbox import Outbox

logger = logging.getLogger(__name__)

MAX_BATCH = 50
MAX_ATTEMPTS = 8
STALLED_AFTER = timedelta(minutes=5)
# A request whose provider stays unreachable this long is answered (unknown_account, saying why).
GIVE_UP_AFTER = timedelta(days=1)
CALLBACKS = Outbox(ServiceAccountAuthorization, lease=timedelta(minutes=2))


@dataclass(frozen=True)
class AuthorizationRequest:
    """One entry of `POST /v1/service_account_authorizations`, validated."""

    email: str
    callback_url: str
    scopes: list[str]
    state: str = ""


class DecideLater(Exception):  # not an error: the request waits
    """The person's provider could not be asked (down, throttling): the request stays undecided and the
    sweep of stalled requests asks again, until GIVE_UP_AFTER."""


class Refusal(Exception):
    """Why a person's delegated access cannot be granted, as the callback's `error`."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@transaction.atomic
def service_account_authorizations_request(
    *, service_account: ServiceAccount, entries: list[AuthorizationRequest]
) -> list[ServiceAccountAuthorization]:
    """Record the requests (all or none) and queue their resolution once committed."""
    if not 1 <= len(entries) <= MAX_BATCH:
        raise ValueError(f"Between 1 and {MAX_BATCH} authorizations at a time.")
    rows = ServiceAccountAuthorization.objects.bulk_create(
        [
            ServiceAccountAuthorization(
                service_account=service_account,
                email=entry.email.strip().lower(),
                scopes=entry.scopes,
                callback_url=entry.callback_url,
                state=entry.state,
            )
            for entry in entries
        ]
    )
    for row in rows:
        transaction.on_commit(partial(async_task, "connect.tasks.service_account_authorization_resolve", row.pk))
    return rows


def _served_person(service_account: ServiceAccount, email: str) -> tuple[User, CalendarService]:
    """The person behind `email`, provisioned by a live calendar service of the granting organization
    (or a unit below it), with a proven address; otherwise a refusal that names nobody else's data."""
    service = calendar_service_for_email(email=email)
    organization_ids = organization_subtree_ids(organization_id=service_account.organization_id)
    if service is None or service.organization_id not in organization_ids or not calendar_service_holds_grant(service):
        raise Refusal("unknown_account", f"{email} is not served by {service_account.organization.name}.")
    person = User.objects.filter(verified_address(), email=email, is_active=True).first()
    if person is None:
        raise Refusal("unknown_account", f"{email} is not served by {service_account.organization.name}.")
    return person, service


def _check_scope(service_account: ServiceAccount, scopes: list[str]) -> None:
    # Compared as base scopes: free_busy is within read_write though the names differ.
    simplified = frozenset(api_scopes.SIMPLIFIED_SCOPES)
    asked = api_scopes.expand(scopes) - simplified
    allowed = api_scopes.expand(service_account.delegated_scopes) - simplified
    if not asked <= allowed:
        raise Refusal(
            "unable_to_grant_scope",
            f"The scope asked for is more than {service_account.organization.name} delegated "
            f"({' '.join(service_account.delegated_scopes)}).",
        )


def effective_mode(service_account: ServiceAccount, profile: CalendarProfile) -> str:
    """The mode the account token works in: the person's calendar's, never above the admin's choice
    for free_busy_write."""
    modes = [profile.access_mode]
    if service_account.access_mode:
        modes.append(service_account.access_mode)
    return lowest_mode(modes) or profile.access_mode


def _live_profile(person: User, service: CalendarService) -> CalendarProfile | None:
    return (
        CalendarProfile.objects.filter(user=person, calendar_service=service)
        .exclude(status=ProfileStatus.DISCONNECTED)
        .first()
    )


def _provision(row: ServiceAccountAuthorization) -> str:
    """Before the decision and outside any transaction, because it may ask the provider: the person's
    profile through their organization's service, made now if provisioning has not reached them yet
    (as a consent would). Returns why none could be made, or "". Raises DecideLater while the provider
    cannot be asked. Whatever else is wrong with the request is left for the decision to refuse."""
    service_account = live_service_accounts().filter(pk=row.service_account_id).first()
    if service_account is None:
        return ""
    try:
        person, service = _served_person(service_account, row.email)
    except Refusal:
        return ""
    if _live_profile(person, service) is not None:
        return ""  # provisioned already, as most people are
    try:
        calendar_service_provision_person(service=service, user=person)
    except ValidationError as refusal:
        if refusal.code == "provider_unavailable" and row.created_at > timezone.now() - GIVE_UP_AFTER:
            raise DecideLater(refusal.messages[0]) from None
        return refusal.messages[0]
    return ""


@transaction.atomic
def _grant(row: ServiceAccountAuthorization, *, unprovisioned_because: str) -> dict[str, object]:
    service_account = live_service_accounts().filter(pk=row.service_account_id).first()
    if service_account is None:
        raise Refusal("access_denied", "The organization has revoked this application's access.")
    _check_scope(service_account, row.scopes)
    person, service = _served_person(service_account, row.email)
    profile = _live_profile(person, service)
    if profile is None:
        raise Refusal(
            "unknown_account",
            unprovisioned_because or f"{row.email} is not served by {service_account.organization.name}.",
        )
    # What the mode withholds is left out of the grant now and withheld again at each request (the
    # mode may change later): the token's scope says what it can really do.
    # Base scopes only: a simplified name left in would expand back to what the mode withholds.
    mode = effective_mode(service_account, profile)
    effective = policy_for(mode).effective_api_scopes(row.scopes)
    scopes = sorted(effective - frozenset(api_scopes.SIMPLIFIED_SCOPES))
    code = authorization_code_issue(
        application=service_account.application,
        user=person,
        scopes=scopes,
        redirect_uri=row.callback_url,
        profile_id=profile.pk,
        service_account=service_account,
    )
    row.user = person
    audit_record(
        actor=Actor.of_application(service_account.application, on_behalf_of=person),
        target=service_account,
        action="service_account_authorization_granted",
        organization=service_account.organization,
        changes={
            "person": person.email,
            "scopes": scopes,
            "access_mode": mode,
            "covered_by": f"{service_account.organization.name}'s grant: no consent of the person's own was asked",
        },
    )
    return {"code": code, "state": row.state}


def service_account_authorization_resolve(*, authorization_id: int) -> ServiceAccountAuthorization | None:
    """Decide one request (a code or a refusal, once) and deliver the answer."""
    pending = ServiceAccountAuthorization.objects.filter(
        pk=authorization_id, outcome=ServiceAccountAuthorization.Outcome.PENDING
    ).first()
    if pending is None:
        return None  # resolved already (a task run twice)
    try:
        unprovisioned_because = _provision(pending)
    except DecideLater as later:
        logger.info("Service account authorization %s waits for its provider: %s", pending.pk, later)
        return None
    with transaction.atomic():
        row = (
            ServiceAccountAuthorization.objects.select_for_update()
            .select_related("service_account__organization", "service_account__application")
            .filter(pk=authorization_id, outcome=ServiceAccountAuthorization.Outcome.PENDING)
            .first()
        )
        if row is None:
            return None  # resolved already (a task run twice)
        try:
            with transaction.atomic():
                answer = _grant(row, unprovisioned_because=unprovisioned_because)
            row.outcome = ServiceAccountAuthorization.Outcome.GRANTED
        except Refusal as refusal:
            answer = {"error": refusal.error, "error_description": refusal.description, "state": row.state}
            row.outcome, row.error = ServiceAccountAuthorization.Outcome.REFUSED, refusal.error
        row.answer = {"authorization": answer}
        row.next_attempt_at = timezone.now()
        row.save(update_fields=["outcome", "error", "user", "answer", "next_attempt_at"])
    return service_account_authorization_deliver(authorization_id=row.pk)


def service_account_authorization_deliver(*, authorization_id: int) -> ServiceAccountAuthorization | None:
    """POST the answer to the integrator's callback URL through the outbound guard; signed like channel
    notifications; tried again with growing pauses until a 2xx or the last attempt."""
    claimed = CALLBACKS.claim(authorization_id)
    if claimed is None:
        return None
    row = ServiceAccountAuthorization.objects.select_related("service_account__application").get(pk=claimed.pk)
    body = json.dumps(row.answer, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    secret = row.service_account.application.signing_secret or ""
    if secret:
        headers[SIGNATURE_HEADER] = signature(body=body, secret=secret)
    max_attempts = MAX_ATTEMPTS
    try:
        response = outbound_post(row.callback_url, body=body, headers=headers)
        error = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    except OutboundRefused as refusal:
        error, max_attempts = f"Refused: {refusal}", row.attempts
    except requests.RequestException as failure:
        error = type(failure).__name__
    if CALLBACKS.record(row, error=error, max_attempts=max_attempts):
        logger.warning("Gave up calling back for service account authorization %s: %s", row.pk, error)
    return row


def service_account_callbacks_due(*, limit: int = 500) -> list[int]:
    return CALLBACKS.due(limit=limit)


def service_account_authorizations_stalled(*, limit: int = 500) -> list[int]:
    """Requests still undecided well after they were made: their task was lost."""
    return list(
        ServiceAccountAuthorization.objects.filter(
            outcome=ServiceAccountAuthorization.Outcome.PENDING, created_at__lte=timezone.now() - STALLED_AFTER
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def service_account_userinfo(service_account: ServiceAccount) -> dict[str, object]:
    """Cronofy's `/v1/userinfo` for a service account: who granted it, the organization's calendar
    provider and domain, and what it may do (its own scopes and the delegated scope)."""
    organization_ids = organization_subtree_ids(organization_id=service_account.organization_id)
    service = (
        CalendarService.objects.filter(organization_id__in=organization_ids, status=ConnectionStatus.ACTIVE)
        .prefetch_related("domain_claims")
        .order_by("pk")
        .first()
    )
    provider_name = profile_provider_name(platform=service.provider, access_mode=service.access_mode) if service else ""
    return {
        "sub": service_account.public_id,
        "email": service_account.granted_by.email if service_account.granted_by else "",
        "cronofy_type": "service_account",
        "cronofy_data": {
            "service_account": {
                "provider_name": provider_name,
                "domain": next(iter(service.domain_names), "") if service else "",
            },
            "authorization": {
                "scope": " ".join(service_account.scopes),
                "status": "active",
                "delegated_scope": " ".join(service_account.delegated_scopes),
            },
        },
    }
