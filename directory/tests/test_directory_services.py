import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import ConnectionStatus
from directory.models import DirectoryProvider, DirectoryService
from directory.services import (
    directory_service_authorize,
    directory_service_connect,
    directory_service_disconnect,
    directory_service_update,
)

pytestmark = pytest.mark.django_db


def test_a_directory_waits_for_authorization_then_keeps_its_grant(acme, bob):
    service = directory_service_connect(
        organization=acme, provider=DirectoryProvider.MICROSOFT, connected_by=bob, external_id="tenant-guid"
    )
    assert service.status == ConnectionStatus.PENDING
    assert service.public_id.startswith("dir_")
    directory_service_authorize(
        service=service, credentials={"client_secret": "s"}, granted_scopes=["User.Read.All"], actor=bob
    )
    service.refresh_from_db()
    assert service.status == ConnectionStatus.ACTIVE
    assert service.granted_scopes == ["User.Read.All"]


def test_one_live_directory_per_provider(acme, bob):
    first = directory_service_connect(organization=acme, provider=DirectoryProvider.GOOGLE, connected_by=bob)
    with pytest.raises(ValidationError, match="already has a live directory service from this provider"):
        directory_service_connect(organization=acme, provider=DirectoryProvider.GOOGLE, connected_by=bob)
    directory_service_disconnect(service=first, actor=bob)
    directory_service_connect(organization=acme, provider=DirectoryProvider.GOOGLE, connected_by=bob)
    assert DirectoryService.objects.filter(organization=acme).count() == 2


def test_successfactors_asks_for_no_oauth_scope(acme, bob):
    service = directory_service_connect(
        organization=acme, provider=DirectoryProvider.SUCCESSFACTORS, connected_by=bob, external_id="ACMECORP"
    )
    assert service.requested_scope_rows() == ()
    directory_service_update(service=service, actor=bob, external_id="ACMECORP2")
    assert DirectoryService.objects.get().external_id == "ACMECORP2"


def test_the_console_page_explains_what_the_directory_shares(client_for, bob, acme):
    service = directory_service_connect(organization=acme, provider=DirectoryProvider.GOOGLE, connected_by=bob)
    page = client_for(bob).get(reverse("admin:directory_directoryservice_change", args=[service.pk])).content.decode()
    assert "https://www.googleapis.com/auth/admin.directory.user.readonly" in page
    assert "name, email address and whether they are active" in page


def test_an_admin_connects_a_directory_from_the_console(client_for, bob, acme):
    response = client_for(bob).post(
        reverse("admin:directory_directoryservice_add"),
        {"organization": acme.pk, "provider": "successfactors", "external_id": "ACME"},
    )
    assert response.status_code == 302
    assert DirectoryService.objects.get().connected_by == bob
