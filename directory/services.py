"""Writes for directory services: the organization's people, for onboarding and offboarding."""

from __future__ import annotations

from typing import Any

from accounts.models import Organization, User
from accounts.services import (
    organization_connection_create,
    organization_connection_disconnect,
    organization_connection_set_external_id,
    organization_connection_store_credentials,
)
from directory.models import DirectoryService


def directory_service_connect(
    *, organization: Organization, provider: str, connected_by: User | None, external_id: str = ""
) -> DirectoryService:
    return organization_connection_create(
        model=DirectoryService,
        organization=organization,
        provider=provider,
        connected_by=connected_by,
        external_id=external_id,
    )


def directory_service_update(*, service: DirectoryService, actor: User | None, external_id: str) -> DirectoryService:
    return organization_connection_set_external_id(connection=service, actor=actor, external_id=external_id)


def directory_service_authorize(
    *,
    service: DirectoryService,
    credentials: dict[str, Any],
    granted_scopes: list[str],
    external_id: str = "",
    actor: User | None,
) -> DirectoryService:
    organization_connection_store_credentials(
        connection=service,
        credentials=credentials,
        granted_scopes=granted_scopes,
        external_id=external_id,
        actor=actor,
    )
    return service


def directory_service_disconnect(*, service: DirectoryService, actor: User | None) -> DirectoryService:
    organization_connection_disconnect(connection=service, actor=actor)
    return service
