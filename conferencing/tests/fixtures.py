"""Test fixtures of the conferencing app, a pytest plugin loaded by the root conftest.py: Acme's
conferencing services connected, authorized and verified through the sandbox, as an admin leaves them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from accounts.models import Role
from accounts.services import membership_set
from conferencing.models import ConferencingProvider, ConferencingService
from conferencing.services import (
    conferencing_service_authorize_meet,
    conferencing_service_authorize_teams,
    conferencing_service_authorize_webex,
    conferencing_service_authorize_zoom,
    conferencing_service_connect,
    conferencing_service_verify,
)
from conftest import make_user
from sandbox import tokens
from sandbox.models import AdminConsent, MeetingApp, MeetingUser, Provider, Token

WEBEX_SCOPES = ["spark:kms", "meeting:admin_schedule_write", "spark:people_read"]


def webex_admin_credentials(conferencing_world, email: str = "bob@acme.example") -> dict:
    user = MeetingUser.objects.get(account=conferencing_world.webex, email=email)
    app = MeetingApp.objects.get(provider=Provider.WEBEX, kind=MeetingApp.Kind.INTEGRATION)
    refresh, _ = tokens.issue_meeting_token(
        kind=Token.Kind.REFRESH, app=app, account=conferencing_world.webex, user=user, scopes=WEBEX_SCOPES
    )
    return {"kind": "webex_admin", "refresh_token": refresh, "scopes": WEBEX_SCOPES}


def teams_consent(world, conferencing_world) -> str:
    client = conferencing_world.teams_client
    AdminConsent.objects.get_or_create(
        tenant=world.tenants["contoso"], client=client, defaults={"permissions": client.application_permissions}
    )
    return world.tenants["contoso"].external_id


@pytest.fixture
def member(acme) -> Callable[[str, str], object]:
    """A person of Acme with this address (the sandbox's conferencing accounts use the same ones)."""

    def make(email: str, name: str = ""):
        user = make_user(email, name or email.split("@")[0].title())
        membership_set(organization=acme, user=user, role=Role.MEMBER, actor=None)
        return user

    return make


@pytest.fixture
def connect(acme, bob, world, conferencing_world) -> Callable[..., ConferencingService]:
    """Connect, authorize and verify one of Acme's conferencing services at the sandbox."""

    def make(provider: str, *, test_user: str = "alice@acme.example") -> ConferencingService:
        service = conferencing_service_connect(organization=acme, provider=provider, connected_by=bob)
        if provider == ConferencingProvider.ZOOM:
            app = conferencing_world.zoom_app
            conferencing_service_authorize_zoom(
                service=service,
                account_id=app.account.account_id,
                client_id=app.client_id,
                client_secret=app.client_secret,
                actor=bob,
            )
        elif provider == ConferencingProvider.WEBEX:
            conferencing_service_authorize_webex(
                service=service,
                credentials=webex_admin_credentials(conferencing_world),
                organization_id=conferencing_world.webex.account_id,
                actor=bob,
            )
        elif provider == ConferencingProvider.MS_TEAMS:
            conferencing_service_authorize_teams(
                service=service, tenant_id=teams_consent(world, conferencing_world), actor=bob
            )
        else:
            conferencing_service_authorize_meet(
                service=service, key=conferencing_world.service_account_key, test_user=test_user, actor=bob
            )
        service.refresh_from_db()
        return conferencing_service_verify(service=service, test_user=test_user, actor=bob)

    return make
