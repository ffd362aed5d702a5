"""The conferencing parts of the `/v1` API in-process: `conferencing_profiles` in `/v1/userinfo` and
`POST /v1/conferencing_service_authorizations`, with their query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calendars.choices import ProfileStatus
from conferencing.models import ConferencingProfile
from conferencing.providers.base import ConferencingUser
from conferencing.services import (
    conferencing_profile_link_own,
    conferencing_service_authorize,
    conferencing_service_connect,
    conferencing_service_link_accounts,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def zoom(acme, bob, alice):
    """Acme's Zoom, live, with Alice and Bob linked (as a test meeting and a listing would leave it)."""
    service = conferencing_service_connect(organization=acme, provider="zoom", connected_by=bob)
    conferencing_service_authorize(
        service=service, credentials={"kind": "zoom_server_to_server"}, granted_scopes=[], actor=bob, known_good=True
    )
    conferencing_service_link_accounts(
        service=service,
        accounts=[
            ConferencingUser(user_id="zoomAlice", email="alice@acme.example"),
            ConferencingUser(user_id="zoomBob", email="bob@acme.example"),
        ],
    )
    return service


def conferencing_profiles(client) -> list[dict]:
    response = client.get("/v1/userinfo")
    assert response.status_code == 200
    return response.json()["cronofy.data"]["conferencing_profiles"]


def test_userinfo_lists_conferencing_profiles_in_cronofys_shape(api_client_for, alice, zoom):
    [profile] = conferencing_profiles(api_client_for(alice))
    stored = ConferencingProfile.objects.get(user=alice)
    assert profile == {
        "provider_name": "zoom",
        "profile_id": stored.public_id,
        "profile_name": "alice@acme.example",
        "profile_connected": True,
    }


def test_a_profile_waiting_to_be_relinked_is_listed_not_connected_and_a_disconnected_one_not_at_all(
    api_client_for, alice, zoom
):
    own = conferencing_profile_link_own(
        user=alice,
        provider="webex",
        account=ConferencingUser(user_id="webexAlice", email="alice@acme.example"),
        credentials={"kind": "webex_user"},
        granted_scopes=[],
    )
    ConferencingProfile.objects.filter(pk=own.pk).update(status=ProfileStatus.RELINK_REQUIRED)
    ConferencingProfile.objects.filter(service=zoom).update(status=ProfileStatus.DISCONNECTED)
    assert [(p["provider_name"], p["profile_connected"]) for p in conferencing_profiles(api_client_for(alice))] == [
        ("webex", False)
    ]


def test_userinfo_reads_conferencing_profiles_in_one_query_however_many(api_client_for, alice, zoom):
    client = api_client_for(alice)
    with CaptureQueriesContext(connection) as few:
        conferencing_profiles(client)
    for index in range(5):
        conferencing_profile_link_own(
            user=alice,
            provider="webex",
            account=ConferencingUser(user_id=f"webex{index}", email=f"a{index}@acme.example"),
            credentials={"kind": "webex_user"},
            granted_scopes=[],
        )
    with CaptureQueriesContext(connection) as many:
        assert len(conferencing_profiles(client)) == 6
    assert len(many) == len(few)


def test_a_conferencing_authorization_is_a_url_on_this_site(api_client_for, alice, settings, django_assert_num_queries):
    client = api_client_for(alice)
    with django_assert_num_queries(2):  # the token with its grant, account and application; its client
        response = client.post(
            "/v1/conferencing_service_authorizations",
            {"redirect_uri": "https://integrator.example/callback", "provider_name": "zoom"},
            format="json",
        )
    assert response.status_code == 200
    url = response.json()["authorization_request"]["url"]
    assert url.startswith(f"{settings.SITE_URL}/conferencing/authorize?token=")
