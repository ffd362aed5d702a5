import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import ConnectionStatus
from conferencing.models import ConferencingProvider, ConferencingService
from conferencing.services import (
    conferencing_service_authorize,
    conferencing_service_connect,
    conferencing_service_disconnect,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("provider", "scope"),
    [
        (ConferencingProvider.GOOGLE_MEET, "https://www.googleapis.com/auth/meetings.space.created"),
        (ConferencingProvider.MS_TEAMS, "OnlineMeetings.ReadWrite.All"),
        (ConferencingProvider.ZOOM, "meeting:write:admin"),
        (ConferencingProvider.WEBEX, "meeting:admin_schedule_write"),
    ],
)
def test_each_provider_asks_for_the_seeds_scopes(acme, bob, provider, scope):
    service = conferencing_service_connect(organization=acme, provider=provider, connected_by=bob)
    assert scope in [row.scope for row in service.requested_scope_rows()]


def test_one_live_service_per_provider(acme, bob):
    conferencing_service_connect(organization=acme, provider=ConferencingProvider.ZOOM, connected_by=bob)
    with pytest.raises(ValidationError, match="already has a live service"):
        conferencing_service_connect(organization=acme, provider=ConferencingProvider.ZOOM, connected_by=bob)


def test_disconnecting_forgets_the_credentials(acme, bob):
    service = conferencing_service_connect(organization=acme, provider=ConferencingProvider.WEBEX, connected_by=bob)
    conferencing_service_authorize(
        service=service, credentials={"refresh_token": "r"}, granted_scopes=["spark:kms"], actor=bob
    )
    conferencing_service_disconnect(service=service, actor=bob)
    service.refresh_from_db()
    assert service.status == ConnectionStatus.DISCONNECTED
    assert service.credentials is None


def test_the_disconnect_action_is_scoped(client_for, bob, charlie, acme, globex):
    service = conferencing_service_connect(organization=acme, provider=ConferencingProvider.ZOOM, connected_by=bob)
    client_for(charlie).post(
        reverse("admin:conferencing_conferencingservice_changelist"),
        {"action": "disconnect_selected", "_selected_action": [service.pk]},
    )
    assert ConferencingService.objects.get().status == ConnectionStatus.PENDING
    client_for(bob).post(
        reverse("admin:conferencing_conferencingservice_changelist"),
        {"action": "disconnect_selected", "_selected_action": [service.pk]},
    )
    assert ConferencingService.objects.get().status == ConnectionStatus.DISCONNECTED
