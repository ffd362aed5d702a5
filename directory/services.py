"""Writes for directory services: connecting one, authorizing it at its provider (verified before
anything is stored), its offboarding policy and unit mapping. Rounds live in `directory/rounds.py`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import ConnectionStatus, Organization, User
from accounts.selectors import organization_tree_ids
from accounts.services import (
    audit_record,
    organization_connection_create,
    organization_connection_disconnect,
    organization_connection_set_external_id,
    organization_connection_store_credentials,
)
from calendars.providers import OrganizationGrant
from calendars.providers.base import ProviderError
from directory.clients import GRANTS, directory_client_for, directory_scopes
from directory.models import DirectoryProvider, DirectoryService, DirectoryUnitMapping, OffboardingPolicy


@transaction.atomic
def directory_service_connect(
    *, organization: Organization, provider: str, connected_by: User | None, external_id: str = ""
) -> DirectoryService:
    """Start connecting a directory: it waits for the provider's authorization."""
    return organization_connection_create(
        model=DirectoryService,
        organization=organization,
        provider=provider,
        connected_by=connected_by,
        external_id=external_id,
    )


@transaction.atomic
def directory_service_update(*, service: DirectoryService, actor: User | None, external_id: str) -> DirectoryService:
    return organization_connection_set_external_id(connection=service, actor=actor, external_id=external_id)


@transaction.atomic
def directory_service_authorize(
    *,
    service: DirectoryService,
    credentials: dict[str, Any],
    granted_scopes: list[str],
    external_id: str = "",
    actor: User | None,
) -> DirectoryService:
    """Keep the provider's authorization (encrypted). The first round waits for an admin: a preview
    comes first."""
    organization_connection_store_credentials(
        connection=service,
        credentials=credentials,
        granted_scopes=granted_scopes,
        external_id=external_id,
        actor=actor,
    )
    return service


@transaction.atomic
def directory_service_disconnect(*, service: DirectoryService, actor: User | None) -> DirectoryService:
    organization_connection_disconnect(connection=service, actor=actor)
    DirectoryService.objects.filter(pk=service.pk).update(next_round_at=None, cursor="")
    return service


def _verify(service: DirectoryService, candidate: DirectoryService) -> None:
    """Ask the provider with the candidate authorization; refuse, naming what is missing."""
    try:
        missing = directory_client_for(candidate).missing_permissions()
    except ProviderError as error:
        if error.retryable:
            raise ValidationError(
                "The provider could not be reached to check the authorization; try again shortly."
            ) from None
        raise ValidationError(f"The provider refused the authorization: {error}") from None
    if missing:
        raise ValidationError(
            "The authorization does not grant everything the directory needs. Missing: " + ", ".join(missing)
        )


def _candidate(service: DirectoryService, **values: Any) -> DirectoryService:
    candidate = DirectoryService.objects.get(pk=service.pk)
    for name, value in values.items():
        setattr(candidate, name, value)
    return candidate


def directory_service_authorize_google(
    *, service: DirectoryService, key: dict[str, Any], admin_email: str, actor: User | None
) -> DirectoryService:
    """A Google service account key with domain-wide delegation of the directory scopes, acting as an
    administrator of the Workspace: verified at Google (every scope, and the administrator), then kept."""
    grant = OrganizationGrant.SERVICE_ACCOUNT_KEY
    if GRANTS[service.provider] is not grant or not service.is_live:
        raise ValidationError("This directory does not authorize with a Google service account.")
    if not isinstance(key, dict) or key.get("type") != "service_account" or not key.get("private_key"):
        raise ValidationError("This is not a Google service account key file (JSON with type service_account).")
    credentials = {"kind": grant, "key": key}
    try:
        _verify(service, _candidate(service, credentials=credentials, acting_user=admin_email.strip().lower()))
    except (ValueError, TypeError):
        raise ValidationError("The key file's private key cannot be read.") from None
    with transaction.atomic():
        DirectoryService.objects.filter(pk=service.pk).update(acting_user=admin_email.strip().lower())
        service.acting_user = admin_email.strip().lower()
        directory_service_authorize(
            service=service,
            credentials=credentials,
            granted_scopes=directory_scopes(DirectoryProvider.GOOGLE),
            external_id=service.external_id or key.get("client_id", ""),
            actor=actor,
        )
    return service


def directory_service_authorize_microsoft(
    *, service: DirectoryService, tenant_id: str, actor: User | None
) -> DirectoryService:
    """After the tenant administrator's consent: the app-only token must carry every directory permission."""
    grant = OrganizationGrant.ADMIN_CONSENT
    if GRANTS[service.provider] is not grant or not service.is_live:
        raise ValidationError("This directory does not authorize with Microsoft admin consent.")
    credentials = {"kind": grant, "tenant_id": tenant_id}
    candidate = _candidate(service, credentials=credentials, external_id=tenant_id)
    _verify(service, candidate)
    granted = directory_client_for(candidate).granted_permissions()  # type: ignore[attr-defined]
    directory_service_authorize(
        service=service, credentials=credentials, granted_scopes=granted, external_id=tenant_id, actor=actor
    )
    return service


def directory_service_authorize_successfactors(
    *,
    service: DirectoryService,
    api_url: str,
    company_id: str,
    client_id: str,
    user_id: str,
    private_key: str,
    certificate: str,
    actor: User | None,
) -> DirectoryService:
    """The OAuth client application registered in SuccessFactors (its API key and the certificate it was
    given), the API user the SAML assertion names, and the key that signs it: a token is taken and the
    User entity read before anything is kept."""
    grant = OrganizationGrant.SAML_CLIENT
    if GRANTS[service.provider] is not grant or not service.is_live:
        raise ValidationError("This directory does not authorize with SuccessFactors.")
    if "PRIVATE KEY" not in private_key or "CERTIFICATE" not in certificate:
        raise ValidationError("Paste the private key and the certificate in PEM form (-----BEGIN …-----).")
    credentials = {
        "kind": grant,
        "client_id": client_id.strip(),
        "private_key": private_key.strip(),
        "certificate": certificate.strip(),
    }
    values = {"api_url": api_url.strip().rstrip("/"), "external_id": company_id.strip(), "acting_user": user_id.strip()}
    _verify(service, _candidate(service, credentials=credentials, **values))
    with transaction.atomic():
        DirectoryService.objects.filter(pk=service.pk).update(**values)
        for name, value in values.items():
            setattr(service, name, value)
        directory_service_authorize(
            service=service, credentials=credentials, granted_scopes=[], external_id=values["external_id"], actor=actor
        )
    return service


@transaction.atomic
def directory_service_set_policy(
    *,
    service: DirectoryService,
    actor: User | None,
    offboarding_policy: str,
    handover_to: User | None,
    offboarding_threshold: int,
    default_unit: Organization | None,
    round_interval: timedelta,
) -> DirectoryService:
    """The offboarding policy and threshold, the default unit and how often rounds run."""
    tree = organization_tree_ids(organization=service.organization)
    if default_unit is not None and default_unit.pk not in tree:
        raise ValidationError({"default_unit": "Choose the organization or one of its units."})
    if offboarding_policy != OffboardingPolicy.HAND_OVER:
        handover_to = None
    if round_interval < timedelta(minutes=5):
        raise ValidationError({"round_interval": "Rounds run at most every five minutes."})
    changes: dict[str, Any] = {}
    for name, value in (
        ("offboarding_policy", offboarding_policy),
        ("handover_to", handover_to),
        ("offboarding_threshold", offboarding_threshold),
        ("default_unit", default_unit),
        ("round_interval", round_interval),
    ):
        if getattr(service, name) != value:
            changes[name] = str(value) if value is not None else None
            setattr(service, name, value)
    if changes:
        service.full_clean()
        service.save()
        audit_record(actor=actor, target=service, action="policy_changed", changes=changes)
    return service


@transaction.atomic
def directory_unit_mapping_set(
    *, service: DirectoryService, source: str, organization: Organization, actor: User | None
) -> DirectoryUnitMapping:
    """Map a unit path or department to an Organizational Unit of the directory's organization."""
    if organization.pk not in organization_tree_ids(organization=service.organization):
        raise ValidationError({"organization": "Choose the organization or one of its units."})
    source = source.strip()
    if not source:
        raise ValidationError({"source": "Name the unit path or department."})
    mapping, _ = DirectoryUnitMapping.objects.update_or_create(
        service=service, source=source, defaults={"organization": organization}
    )
    audit_record(actor=actor, target=service, action="unit_mapped", changes={"source": source, "to": str(organization)})
    return mapping


def directory_service_is_authorized(service: DirectoryService) -> bool:
    return service.status in (ConnectionStatus.ACTIVE, ConnectionStatus.ERROR) and bool(service.credentials)
