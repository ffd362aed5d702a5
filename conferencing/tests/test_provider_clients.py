"""The conferencing clients against the sandbox's real HTTP endpoints: Zoom (requests), Webex
(requests), Teams (MSAL and Graph over requests), Meet (google-api-python-client, domain-wide
delegation). Scopes, policies, faults and errors as the providers give them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from calendars.providers.base import ProviderAuthError, ProviderError, ProviderPermissionError
from conferencing.providers import conferencing_client
from conferencing.providers.base import AccessPolicyMissing, ConferencingUser, MeetingSpec
from conferencing.providers.meet import MeetClient
from sandbox import tokens
from sandbox.models import AdminConsent, Fault, Meeting, MeetingApp, MeetingUser, Provider, Token

pytestmark = pytest.mark.django_db(transaction=True)


def spec(key: str = "evt_test1", hours: int = 24, title: str = "Interview") -> MeetingSpec:
    start = (timezone.now() + timedelta(hours=hours)).replace(microsecond=0)
    return MeetingSpec(key=key, title=title, start=start, end=start + timedelta(hours=1), time_zone="Europe/London")


def zoom_credentials(app: MeetingApp) -> dict:
    return {
        "kind": "zoom_server_to_server",
        "account_id": app.account.account_id,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
    }


def webex_credentials(conferencing_world, email: str, scopes: list[str]) -> dict:
    user = MeetingUser.objects.get(account=conferencing_world.webex, email=email)
    app = MeetingApp.objects.get(provider=Provider.WEBEX, kind=MeetingApp.Kind.INTEGRATION)
    refresh, _ = tokens.issue_meeting_token(
        kind=Token.Kind.REFRESH, app=app, account=conferencing_world.webex, user=user, scopes=scopes
    )
    return {"kind": "webex_admin", "refresh_token": refresh, "scopes": scopes}


WEBEX_ADMIN_SCOPES = ["spark:kms", "meeting:admin_schedule_write", "spark:people_read"]


def teams_credentials(world, conferencing_world) -> dict:
    client = conferencing_world.teams_client
    AdminConsent.objects.get_or_create(
        tenant=world.tenants["contoso"], client=client, defaults={"permissions": client.application_permissions}
    )
    return {"kind": "microsoft_app", "tenant_id": world.tenants["contoso"].external_id}


def meet_credentials(conferencing_world) -> dict:
    return {"kind": "google_service_account", "key": conferencing_world.service_account_key}


#
# Zoom
#


def test_zoom_server_to_server_token_carries_the_apps_scopes(conferencing_world):
    client = conferencing_client("zoom", zoom_credentials(conferencing_world.zoom_app))
    assert sorted(client.granted_scopes()) == ["meeting:write:admin", "user:read:admin"]


def test_zoom_refuses_a_wrong_secret(conferencing_world):
    credentials = {**zoom_credentials(conferencing_world.zoom_app), "client_secret": "wrong"}
    with pytest.raises(ProviderAuthError):
        conferencing_client("zoom", credentials).granted_scopes()


def test_zoom_lists_the_accounts_active_users_by_email(conferencing_world):
    client = conferencing_client("zoom", zoom_credentials(conferencing_world.zoom_app))
    found = client.find_users(["ALICE@acme.example", "gone@acme.example", "nobody@acme.example"])
    assert list(found) == ["alice@acme.example"]
    assert (
        found["alice@acme.example"].user_id
        == MeetingUser.objects.get(email="alice@acme.example", account__provider="zoom").user_id
    )


def test_zoom_names_the_missing_scope(conferencing_world):
    client = conferencing_client("zoom", zoom_credentials(conferencing_world.zoom_narrow_app))
    with pytest.raises(ProviderPermissionError, match="user:read:admin"):
        client.find_users(["alice@acme.example"])


def test_zoom_meetings_are_created_moved_and_deleted(conferencing_world):
    client = conferencing_client("zoom", zoom_credentials(conferencing_world.zoom_app))
    alice = client.find_users(["alice@acme.example"])["alice@acme.example"]
    made = client.create_meeting(alice, spec())
    stored = Meeting.objects.get(provider="zoom", meeting_id=made.meeting_id)
    assert (stored.host_email, stored.topic) == ("alice@acme.example", "Interview")
    assert "/sandbox/zoom/j/" in made.join_url and made.passcode
    assert requests.get(made.join_url, timeout=10).status_code == 200

    later = spec(hours=48, title="Interview (moved)")
    moved = client.update_meeting(alice, made.meeting_id, later)
    stored.refresh_from_db()
    assert (stored.start, stored.topic, moved.join_url) == (later.start, "Interview (moved)", made.join_url)

    client.delete_meeting(alice, made.meeting_id)
    client.delete_meeting(alice, made.meeting_id)  # gone already is fine
    stored.refresh_from_db()
    assert stored.state == Meeting.State.DELETED
    assert "cancelled" in requests.get(made.join_url, timeout=10).text


def test_zoom_finds_a_meeting_by_its_reference(conferencing_world):
    client = conferencing_client("zoom", zoom_credentials(conferencing_world.zoom_app))
    alice = client.find_users(["alice@acme.example"])["alice@acme.example"]
    made = client.create_meeting(alice, spec(key="evt_lost"))
    assert client.find_meeting(alice, spec(key="evt_lost")).meeting_id == made.meeting_id
    assert client.find_meeting(alice, spec(key="evt_other")) is None


def test_zoom_outage_is_retried_in_place_without_a_second_meeting(conferencing_world, settings):
    settings.PROVIDER_MAX_ATTEMPTS = 3
    Fault.objects.create(provider=Provider.ZOOM, operation="meetings.create", kind=Fault.Kind.UNAVAILABLE, times=2)
    client = conferencing_client("zoom", zoom_credentials(conferencing_world.zoom_app))
    alice = ConferencingUser(
        user_id=MeetingUser.objects.get(email="alice@acme.example", account__provider="zoom").user_id,
        email="alice@acme.example",
    )
    client.create_meeting(alice, spec())
    assert Meeting.objects.filter(provider="zoom").count() == 1


def test_zoom_outage_beyond_the_attempts_is_a_retryable_error(conferencing_world, settings):
    settings.PROVIDER_MAX_ATTEMPTS = 2
    Fault.objects.create(provider=Provider.ZOOM, operation="meetings.create", kind=Fault.Kind.SERVER_ERROR, times=0)
    client = conferencing_client("zoom", zoom_credentials(conferencing_world.zoom_app))
    alice = client.find_users(["alice@acme.example"])["alice@acme.example"]
    with pytest.raises(ProviderError) as raised:
        client.create_meeting(alice, spec())
    assert raised.value.retryable
    assert not Meeting.objects.exists()


#
# Webex
#


def test_webex_lists_the_organizations_people_for_an_administrator(conferencing_world):
    client = conferencing_client("webex", webex_credentials(conferencing_world, "bob@acme.example", WEBEX_ADMIN_SCOPES))
    found = client.find_users(["alice@acme.example", "bob@acme.example", "nobody@acme.example"])
    assert sorted(found) == ["alice@acme.example", "bob@acme.example"]


def test_webex_schedules_for_a_colleague_as_host_moves_and_deletes(conferencing_world):
    client = conferencing_client("webex", webex_credentials(conferencing_world, "bob@acme.example", WEBEX_ADMIN_SCOPES))
    alice = client.find_users(["alice@acme.example"])["alice@acme.example"]
    made = client.create_meeting(alice, spec())
    stored = Meeting.objects.get(provider="webex", meeting_id=made.meeting_id)
    assert stored.host_email == "alice@acme.example"
    assert "/sandbox/webex/meet/j.php?MTID=" in made.join_url
    later = spec(hours=30)
    client.update_meeting(alice, made.meeting_id, later)
    stored.refresh_from_db()
    assert stored.start == later.start
    client.delete_meeting(alice, made.meeting_id)
    stored.refresh_from_db()
    assert stored.state == Meeting.State.DELETED


def test_webex_refuses_scheduling_for_others_without_the_admin_scope(conferencing_world):
    scopes = ["spark:kms", "meeting:schedules_write", "spark:people_read"]
    client = conferencing_client("webex", webex_credentials(conferencing_world, "bob@acme.example", scopes))
    alice = ConferencingUser(user_id="x", email="alice@acme.example")
    with pytest.raises(ProviderPermissionError):
        client.create_meeting(alice, spec())


def test_webex_refresh_token_refused_is_an_auth_error(conferencing_world):
    credentials = webex_credentials(conferencing_world, "bob@acme.example", WEBEX_ADMIN_SCOPES)
    Fault.objects.create(provider=Provider.WEBEX, operation="token", kind=Fault.Kind.INVALID_GRANT)
    with pytest.raises(ProviderAuthError):
        conferencing_client("webex", credentials).find_users(["alice@acme.example"])


#
# Teams
#


def test_teams_token_carries_the_consented_application_permissions(world, conferencing_world):
    client = conferencing_client("ms_teams", teams_credentials(world, conferencing_world))
    assert set(client.granted_scopes()) == {"OnlineMeetings.ReadWrite.All", "User.ReadBasic.All"}


def test_teams_finds_users_object_ids_by_email(world, conferencing_world):
    client = conferencing_client("ms_teams", teams_credentials(world, conferencing_world))
    found = client.find_users(["erin@contoso.example", "alice@acme.example"])
    assert list(found) == ["erin@contoso.example"]
    assert found["erin@contoso.example"].user_id == world.people["erin"].external_id


def test_teams_create_or_get_makes_one_meeting_per_event(world, conferencing_world):
    client = conferencing_client("ms_teams", teams_credentials(world, conferencing_world))
    erin = client.find_users(["erin@contoso.example"])["erin@contoso.example"]
    first = client.create_meeting(erin, spec(key="evt_teams"))
    again = client.create_meeting(erin, spec(key="evt_teams"))
    assert first.meeting_id == again.meeting_id
    assert Meeting.objects.filter(provider="microsoft").count() == 1
    assert "/sandbox/microsoft/teams/l/meetup-join/" in first.join_url
    later = spec(key="evt_teams", hours=50)
    client.update_meeting(erin, first.meeting_id, later)
    assert Meeting.objects.get(provider="microsoft").start == later.start
    client.delete_meeting(erin, first.meeting_id)
    assert Meeting.objects.get(provider="microsoft").state == Meeting.State.DELETED


def test_teams_refuses_a_user_no_access_policy_covers(world, conferencing_world):
    client = conferencing_client("ms_teams", teams_credentials(world, conferencing_world))
    max_ = client.find_users(["max@contoso.example"])["max@contoso.example"]
    with pytest.raises(AccessPolicyMissing, match="No application access policy"):
        client.create_meeting(max_, spec())


def test_teams_takes_object_ids_not_addresses(world, conferencing_world):
    client = conferencing_client("ms_teams", teams_credentials(world, conferencing_world))
    with pytest.raises(ProviderError) as raised:
        client.create_meeting(ConferencingUser(user_id="erin@contoso.example", email="erin@contoso.example"), spec())
    assert raised.value.status == 400


def test_teams_without_the_tenants_consent_is_refused(world, conferencing_world):
    credentials = {"kind": "microsoft_app", "tenant_id": world.tenants["contoso"].external_id}
    with pytest.raises(ProviderAuthError):
        conferencing_client("ms_teams", credentials).granted_scopes()


#
# Meet
#


def test_meet_knows_the_workspaces_users_through_delegation(world, conferencing_world):
    client = conferencing_client("google_meet", meet_credentials(conferencing_world))
    found = client.find_users(["alice@acme.example", "erin@contoso.example", "nobody@acme.example"])
    assert list(found) == ["alice@acme.example"]


def test_meet_spaces_are_made_as_the_organizer_and_closed_on_delete(world, conferencing_world):
    client = conferencing_client("google_meet", meet_credentials(conferencing_world))
    alice = ConferencingUser(user_id="alice@acme.example", email="alice@acme.example")
    made = client.create_meeting(alice, spec())
    space = Meeting.objects.get(provider="google", meeting_id=made.meeting_id.removeprefix("spaces/"))
    assert space.host_email == "alice@acme.example"
    assert made.join_url.endswith(f"/sandbox/google/meet/{space.join_code}")
    assert client.update_meeting(alice, made.meeting_id, spec(hours=40)) is None  # a space has no time
    requests.post(made.join_url, timeout=10)  # someone joins: a conference runs in the space
    client.delete_meeting(alice, made.meeting_id)
    space.refresh_from_db()
    assert (space.access_type, space.conference_active) == ("RESTRICTED", False)
    assert "can't join" in requests.get(made.join_url, timeout=10).text


def test_meet_without_the_delegated_scopes_is_refused(world, conferencing_world):
    grant = world.tenants["acme"].delegations.get()
    grant.scopes = [scope for scope in grant.scopes if "meetings" not in scope]
    grant.save()
    client = MeetClient(meet_credentials(conferencing_world))
    with pytest.raises(ProviderAuthError):
        client.create_meeting(ConferencingUser(user_id="alice@acme.example", email="alice@acme.example"), spec())


def test_meet_scopes_are_enforced_from_the_discovery_document(world, conferencing_world):
    credentials = {
        **meet_credentials(conferencing_world),
        "scopes": ["https://www.googleapis.com/auth/meetings.space.readonly"],
    }
    client = MeetClient(credentials)
    with pytest.raises(ProviderPermissionError):
        client.create_meeting(ConferencingUser(user_id="alice@acme.example", email="alice@acme.example"), spec())
