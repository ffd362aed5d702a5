"""Finding 3: the audit trail credits who really acted, per kind of action: the signed-in person (an
admin in the console, a person consenting), an integrator application (through the API), a provider
(refusing a grant) or the system (provisioning an organization's people)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ActorKind, AuditEvent
from accounts.oauth import application_create, grant_revoke, tokens_issue_for
from calendars.models import CalendarProfile
from calendars.services import (
    calendar_profile_connect,
    calendar_profile_mark_relink_required,
    calendar_service_provision,
)
from conftest import make_user
from core.choices import AccessMode
from tests.e2e import INTEGRATOR_REDIRECT

pytestmark = pytest.mark.django_db


def last(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).latest("pk")


def test_an_admins_change_in_the_console_is_credited_to_that_admin(client_for, acme_services, dave):
    service = acme_services[AccessMode.NO_ACCESS]
    response = client_for(dave).post(
        reverse("admin:calendars_calendarservice_change", args=[service.pk]),
        {"domains": "legal.acme.example\nlaw.acme.example"},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    event = last("updated")
    assert (event.actor_kind, event.actor) == (ActorKind.PERSON, dave)
    page = client_for(dave).get(reverse("admin:calendars_calendarservice_change", args=[service.pk])).content.decode()
    assert "dave@acme.example" in page


def test_provisioning_credits_the_system_not_the_people_provisioned(acme_services, alice, bob):
    service = acme_services[AccessMode.NO_ACCESS]
    newcomer = make_user("nina@legal.acme.example", "Nina")
    [profile] = calendar_service_provision(service=service)
    assert profile.user == newcomer
    event = last("profile_connected")
    assert event.actor is None and event.actor_kind == ActorKind.SYSTEM
    assert "provisioning" in event.actor_display
    assert newcomer.email not in event.actor_display and bob.email not in event.actor_display


def test_a_person_connecting_their_own_calendar_is_credited_to_them(alice):
    calendar_profile_connect(user=alice, provider_name="cronofy", profile_name=alice.email)
    event = last("profile_connected")
    assert (event.actor_kind, event.actor) == (ActorKind.PERSON, alice)


@pytest.fixture
def integrator(alice):
    application, _ = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    profile = calendar_profile_connect(user=alice, provider_name="cronofy", profile_name=alice.email)
    token = tokens_issue_for(application=application, user=alice, scopes=["read_write"]).access_token
    return application, profile, token


def test_what_an_application_does_through_the_api_is_credited_to_the_application(integrator, alice):
    application, profile, token = integrator
    client = Client(headers={"Authorization": f"Bearer {token}"})
    client.post("/v1/calendars", {"profile_id": profile.public_id, "name": "Bookings"}, content_type="application/json")
    created = last("calendar_created")
    assert (created.actor_kind, created.actor_application, created.actor) == (
        ActorKind.APPLICATION,
        application,
        None,
    )
    assert created.actor_display == f"Scheduler (application) for {alice.email}"
    client.post(f"/v1/profiles/{profile.public_id}/revoke")
    for action in ("profile_revoked_for_application", "profile_disconnected"):
        assert last(action).actor_kind == ActorKind.APPLICATION, action
    grant_revoke(application=application, sub=alice.public_id)
    assert (last("application_revoked").actor_kind, last("application_revoked").actor) == (ActorKind.APPLICATION, None)


def test_test_tokens_are_not_credited_to_the_person(integrator):
    event = last("application_authorized")
    assert (event.actor_kind, event.actor) == (ActorKind.SYSTEM, None)


def test_a_provider_refusing_a_grant_is_credited_to_the_provider(alice):
    profile = calendar_profile_connect(
        user=alice,
        provider_name="google",
        profile_name=alice.email,
        provider_account_id="g-alice",
        credentials={"kind": "google_user"},
    )
    calendar_profile_mark_relink_required(profile=CalendarProfile.objects.get(pk=profile.pk), error="invalid_grant")
    event = last("profile_relink_required")
    assert (event.actor_kind, event.actor_label, event.actor) == (ActorKind.PROVIDER, "google", None)
