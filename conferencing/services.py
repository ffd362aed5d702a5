"""Writes for conferencing services: meeting links for events."""

from __future__ import annotations

from typing import Any

from accounts.models import Organization, User
from accounts.services import (
    organization_connection_create,
    organization_connection_disconnect,
    organization_connection_set_external_id,
    organization_connection_store_credentials,
)
from conferencing.models import ConferencingService


def conferencing_service_connect(
    *, organization: Organization, provider: str, connected_by: User | None, external_id: str = ""
) -> ConferencingService:
    return organization_connection_create(
        model=ConferencingService,
        organization=organization,
        provider=provider,
        connected_by=connected_by,
        external_id=external_id,
    )


def conferencing_service_update(
    *, service: ConferencingService, actor: User | None, external_id: str
) -> ConferencingService:
    return organization_connection_set_external_id(connection=service, actor=actor, external_id=external_id)


def conferencing_service_authorize(
    *,
    service: ConferencingService,
    credentials: dict[str, Any],
    granted_scopes: list[str],
    external_id: str = "",
    actor: User | None,
) -> ConferencingService:
    organization_connection_store_credentials(
        connection=service,
        credentials=credentials,
        granted_scopes=granted_scopes,
        external_id=external_id,
        actor=actor,
    )
    return service


def conferencing_service_disconnect(*, service: ConferencingService, actor: User | None) -> ConferencingService:
    organization_connection_disconnect(connection=service, actor=actor)
    return service
