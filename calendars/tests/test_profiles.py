import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from calendars.choices import ProfileStatus
from calendars.models import CalendarProfile
from calendars.services import (
    calendar_profile_connect,
    calendar_profile_disconnect,
    calendar_profile_mark_relink_required,
)
from conftest import make_user
from core.choices import AccessMode

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("provider_name", "mode", "platform"),
    [
        ("google", AccessMode.READ_WRITE, "google"),
        ("office365", AccessMode.READ_WRITE, "microsoft"),
        ("google_free_busy", AccessMode.FREE_BUSY, "google"),
        ("ms_graph_free_busy", AccessMode.FREE_BUSY, "microsoft"),
        ("cronofy", AccessMode.NO_ACCESS, None),
    ],
)
def test_the_provider_name_fixes_the_access_mode(alice, provider_name, mode, platform):
    credentials = None if mode == AccessMode.NO_ACCESS else {"refresh_token": "r"}
    profile = calendar_profile_connect(
        user=alice,
        provider_name=provider_name,
        profile_name=alice.email,
        provider_account_id="" if platform is None else "id-1",
        credentials=credentials,
    )
    assert profile.access_mode == mode
    assert profile.platform == platform
    assert profile.public_id.startswith("pro_")


def test_the_database_refuses_a_provider_name_of_another_mode(alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        CalendarProfile.objects.create(
            user=alice,
            provider_name="google_free_busy",
            access_mode=AccessMode.READ_WRITE,
            profile_name=alice.email,
        )


def test_validation_explains_a_provider_name_of_another_mode(alice):
    profile = CalendarProfile(
        user=alice, provider_name="cronofy", access_mode=AccessMode.FREE_BUSY, profile_name=alice.email
    )
    with pytest.raises(ValidationError, match="does not match the access mode"):
        profile.full_clean()


def test_an_unknown_provider_name_is_refused(alice):
    with pytest.raises(ValidationError, match="not a provider name"):
        calendar_profile_connect(user=alice, provider_name="myspace", profile_name=alice.email)


def test_a_no_access_profile_gets_one_hosted_calendar_and_no_credentials(alice):
    profile = calendar_profile_connect(
        user=alice,
        provider_name="cronofy",
        profile_name=alice.email,
    )
    again = calendar_profile_connect(user=alice, provider_name="cronofy", profile_name=alice.email)
    with pytest.raises(ValidationError, match="cannot hold provider credentials"):
        calendar_profile_connect(
            user=alice, provider_name="cronofy", profile_name=alice.email, credentials={"token": "t"}
        )
    assert again.pk == profile.pk
    calendar = profile.calendars.get()
    assert calendar.is_primary
    assert calendar.public_id.startswith("cal_")


def test_relinking_the_same_account_keeps_the_profile(alice):
    first = calendar_profile_connect(
        user=alice,
        provider_name="google",
        profile_name=alice.email,
        provider_account_id="g-1",
        credentials={"refresh_token": "old"},
    )
    calendar_profile_mark_relink_required(profile=first, error="invalid_grant")
    second = calendar_profile_connect(
        user=alice,
        provider_name="google",
        profile_name=alice.email,
        provider_account_id="g-1",
        credentials={"refresh_token": "new"},
    )
    assert second.pk == first.pk
    assert second.public_id == first.public_id
    second.refresh_from_db()
    assert second.status == ProfileStatus.CONNECTED
    assert second.credentials == {"refresh_token": "new"}


def test_an_account_connected_by_someone_else_is_refused(alice):
    calendar_profile_connect(
        user=alice,
        provider_name="google",
        profile_name=alice.email,
        provider_account_id="g-1",
        credentials={"refresh_token": "r"},
    )
    mallory = make_user("mallory@evil.example")
    with pytest.raises(ValidationError, match="already connected to another user"):
        calendar_profile_connect(
            user=mallory,
            provider_name="google",
            profile_name=alice.email,
            provider_account_id="g-1",
            credentials={"refresh_token": "x"},
        )


def test_a_profile_through_an_organization_service_holds_no_credentials_of_its_own(alice, acme_services):
    service = acme_services[AccessMode.FREE_BUSY]
    profile = calendar_profile_connect(
        user=alice,
        provider_name="ms_graph_free_busy",
        profile_name=alice.email,
        provider_account_id="oid",
        credentials={"refresh_token": "r"},
        calendar_service=service,
    )
    assert profile.credentials is None
    assert profile.organization == service.organization


def test_a_profile_must_match_its_services_mode(alice, acme_services):
    with pytest.raises(ValidationError, match="does not match its organization's calendar service"):
        calendar_profile_connect(
            user=alice,
            provider_name="google",
            profile_name=alice.email,
            provider_account_id="g",
            calendar_service=acme_services[AccessMode.FREE_BUSY],
        )


def test_disconnecting_forgets_the_credentials(alice):
    profile = calendar_profile_connect(
        user=alice,
        provider_name="google",
        profile_name=alice.email,
        provider_account_id="g-1",
        credentials={"refresh_token": "r"},
    )
    calendar_profile_disconnect(profile=profile, actor=alice)
    profile.refresh_from_db()
    assert profile.status == ProfileStatus.DISCONNECTED
    assert profile.credentials is None
