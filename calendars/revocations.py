"""Revoking people's own provider grants that were replaced by a lower mode, taken over by their
organization, or dropped: through an outbox row that holds the grant encrypted, so a provider outage
loses nothing, and forgets it once the provider confirmed (or the attempts ran out)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from accounts.services import audit_record
from calendars.choices import CalendarProvider
from calendars.clients import GRANT_REVOKERS
from calendars.models import CalendarProfile, ProviderGrantRevocation
from calendars.providers.base import ProviderError
from core.outbox import Outbox

# A person's own grants as we store them, by the platform that issued them.
CREDENTIAL_PLATFORMS = {"google_user": CalendarProvider.GOOGLE, "microsoft_delegated": CalendarProvider.MICROSOFT}
REVOCATIONS = Outbox(ProviderGrantRevocation, lease=timedelta(minutes=2))
REVOCATION_ATTEMPTS = 8


def credentials_platform(credentials: dict[str, Any]) -> str | None:
    """The platform a person's stored grant belongs to."""
    return CREDENTIAL_PLATFORMS.get(credentials.get("kind", ""))


@transaction.atomic(savepoint=False)
def grant_revocation_queue(*, profile: CalendarProfile, credentials: dict[str, Any], reason: str) -> None:
    """Revoke a person's own grant at the provider after commit, through an outbox row (encrypted)."""
    platform = credentials_platform(credentials)
    if platform not in GRANT_REVOKERS:
        return  # nothing to call: dropping the tokens ends the access (Microsoft)
    revocation = ProviderGrantRevocation.objects.create(
        profile=profile,
        platform=platform,
        # EncryptedJSONField is a TextField to the stubs (text in the database) but takes a dict.
        credentials=credentials,  # type: ignore[misc]
        reason=reason,
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(lambda: async_task("calendars.tasks.provider_grant_revoke_task", revocation.pk))


def provider_grant_revoke(*, revocation_id: int) -> ProviderGrantRevocation | None:
    """Revoke one queued grant at its provider: claimed with a lease (no lock held while the provider
    answers), recorded; the credentials are forgotten once revoked or given up."""
    claimed = REVOCATIONS.claim(revocation_id)
    if not isinstance(claimed, ProviderGrantRevocation):  # None: not due, or leased by another worker
        return None
    try:
        GRANT_REVOKERS[claimed.platform](claimed.credentials or {})
        error = ""
    except ProviderError as failure:
        error = str(failure) or type(failure).__name__
    REVOCATIONS.record(claimed, error=error, max_attempts=REVOCATION_ATTEMPTS)
    if claimed.revoked_at or claimed.failed_at:
        claimed.credentials = None
        claimed.save(update_fields=["credentials"])
        audit_record(
            actor=None,
            target=claimed.profile or claimed,
            action="provider_grant_revoked" if claimed.revoked_at else "provider_grant_revocation_failed",
            organization=claimed.profile.organization if claimed.profile else None,
            changes={"platform": claimed.platform, "reason": claimed.reason, "error": claimed.last_error},
        )
    return claimed


def provider_grant_revocations_due(*, limit: int = 200) -> list[int]:
    return REVOCATIONS.due(limit=limit)
