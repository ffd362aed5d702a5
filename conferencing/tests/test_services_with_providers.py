"""Connecting, verifying and linking people through the sandbox's providers."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.models import ConnectionStatus, Membership
from accounts.services import membership_remove
from calendars.choices import ProfileStatus
from conferencing.models import ConferencingProfile, ConferencingProvider, ConferencingService
from conferencing.selectors import conferencing_default_profile
from conferencing.services import (
    conferencing_person_link,
    conferencing_service_authorize_meet,
    conferencing_service_authorize_zoom,
    conferencing_service_connect,
    conferencing_service_disconnect,
    conferencing_service_link_people,
    conferencing_service_set_default,
    conferencing_service_verify,
)
from conferencing.tests.fixtures import teams_consent
from sandbox.models import Meeting, MeetingUser

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("provider", ["zoom", "webex", "ms_teams", "google_meet"])
def test_a_service_goes_live_once_a_test_meeting_was_created_and_deleted(connect, member, alice, provider, world):
    test_user = "erin@contoso.example" if provider == "ms_teams" else "alice@acme.example"
    service = connect(provider, test_user=test_user)
    assert service.status == ConnectionStatus.ACTIVE and service.verified_at
    checks = Meeting.objects.filter(topic__startswith="Connection check") | Meeting.objects.filter(
        provider="google", host_email=test_user
    )
    assert checks.count() == 1
    check = checks.get()
    assert check.state == Meeting.State.DELETED or check.access_type == "RESTRICTED"


def test_zoom_app_without_a_seed_scope_is_refused_naming_it(acme, bob, conferencing_world):
    service = conferencing_service_connect(organization=acme, provider="zoom", connected_by=bob)
    app = conferencing_world.zoom_narrow_app
    with pytest.raises(ValidationError, match="user:read:admin"):
        conferencing_service_authorize_zoom(
            service=service,
            account_id=app.account.account_id,
            client_id=app.client_id,
            client_secret=app.client_secret,
            actor=bob,
        )
    service.refresh_from_db()
    assert service.status == ConnectionStatus.PENDING and service.credentials is None


def test_zoom_wrong_secret_is_refused_readably(acme, bob, conferencing_world):
    service = conferencing_service_connect(organization=acme, provider="zoom", connected_by=bob)
    with pytest.raises(ValidationError, match="refused these credentials"):
        conferencing_service_authorize_zoom(
            service=service,
            account_id=conferencing_world.zoom.account_id,
            client_id=conferencing_world.zoom_app.client_id,
            client_secret="wrong",
            actor=bob,
        )


def test_meet_names_the_scopes_the_workspace_did_not_delegate(acme, bob, world, conferencing_world):
    grant = world.tenants["acme"].delegations.get()
    grant.scopes = [s for s in grant.scopes if not s.endswith("meetings.space.settings")]
    grant.save()
    service = conferencing_service_connect(organization=acme, provider="google_meet", connected_by=bob)
    with pytest.raises(ValidationError, match=r"meetings\.space\.settings") as raised:
        conferencing_service_authorize_meet(
            service=service, key=conferencing_world.service_account_key, test_user="alice@acme.example", actor=bob
        )
    assert "meetings.space.created" not in str(raised.value)


def test_teams_stays_pending_with_instructions_until_the_access_policy_covers_the_test_user(
    acme, bob, world, conferencing_world
):
    from conferencing.services import conferencing_service_authorize_teams

    service = conferencing_service_connect(organization=acme, provider="ms_teams", connected_by=bob)
    conferencing_service_authorize_teams(service=service, tenant_id=teams_consent(world, conferencing_world), actor=bob)
    service.refresh_from_db()
    with pytest.raises(ValidationError, match="Grant-CsApplicationAccessPolicy"):
        conferencing_service_verify(service=service, test_user="max@contoso.example", actor=bob)
    service.refresh_from_db()
    assert service.status == ConnectionStatus.PENDING
    assert "application access policy" in service.last_error
    conferencing_world.teams_policy.people.add(world.people["max"])
    assert conferencing_service_verify(service=service, test_user="max@contoso.example", actor=bob).status == "active"


def test_verifying_with_someone_who_is_not_a_user_says_so(connect, acme, bob, conferencing_world):
    with pytest.raises(ValidationError, match="not a user of the organization's Zoom"):
        connect("zoom", test_user="nobody@acme.example")


def test_people_are_linked_by_email_and_unlinked_when_they_leave(connect, member, alice, bob):
    member("gone@acme.example")  # deactivated at Zoom
    member("nobody@acme.example")  # no Zoom user
    service = connect("zoom")
    linked = {p.profile_name for p in service.profiles.filter(status=ProfileStatus.CONNECTED)}
    assert linked == {"alice@acme.example", "bob@acme.example"}
    membership_remove(membership=Membership.objects.get(user=alice), actor=bob)
    result = conferencing_service_link_people(service_id=service.pk)
    assert (result.linked, result.unlinked) == (0, 1)
    assert ConferencingProfile.objects.get(user=alice).status == ProfileStatus.DISCONNECTED


def test_a_person_who_joins_later_is_linked_at_once(connect, member, alice, bob, conferencing_world):
    service = connect("zoom")
    MeetingUser.objects.create(account=conferencing_world.zoom, email="newbie@acme.example", user_id="zoomNewbie")
    newbie = member("newbie@acme.example")  # the membership's signal links them after commit
    profile = ConferencingProfile.objects.get(user=newbie)
    assert (profile.service_id, profile.provider_user_id) == (service.pk, "zoomNewbie")
    assert conferencing_person_link(user_id=newbie.pk).linked == 0  # twice changes nothing


def test_the_first_service_is_the_default_and_the_admin_can_change_it(connect, alice, bob):
    zoom = connect("zoom")
    meet = connect("google_meet")
    assert ConferencingService.objects.get(pk=zoom.pk).is_default
    assert conferencing_default_profile(user=alice).provider == "zoom"
    conferencing_service_set_default(service=meet, actor=bob)
    assert conferencing_default_profile(user=alice).provider == "google_meet"
    conferencing_service_disconnect(service=meet, actor=bob)
    assert ConferencingService.objects.get(pk=zoom.pk).is_default
    assert conferencing_default_profile(user=alice).provider == "zoom"
    assert not ConferencingProfile.objects.filter(service=meet, status=ProfileStatus.CONNECTED).exists()


def test_a_revoked_grant_marks_the_service_for_its_admin(connect, alice, conferencing_world):
    service = connect("zoom")
    conferencing_world.zoom_app.client_secret = "rotated-at-zoom"
    conferencing_world.zoom_app.save()
    ConferencingService.objects.filter(pk=service.pk).update(
        credentials={**service.credentials, "access_token": "", "expires_at": None}
    )
    conferencing_service_link_people(service_id=service.pk)
    service.refresh_from_db()
    assert service.status == ConnectionStatus.ERROR and "Zoom refused" in service.last_error


def test_only_zoom_and_webex_are_linked_by_people_themselves():
    from conferencing.models import PERSONAL_PROVIDERS

    assert set(PERSONAL_PROVIDERS) == {ConferencingProvider.ZOOM, ConferencingProvider.WEBEX}
