"""Credentials are encrypted at rest and keys rotate without losing anything."""

import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection
from django.utils.timezone import now

from accounts.services import organization_connection_store_credentials
from calendars.models import CalendarProfile, CalendarService, ProviderGrantRevocation
from calendars.services import calendar_profile_connect, calendar_service_authorize
from conferencing.models import ConferencingProvider
from conferencing.services import conferencing_service_connect
from core.choices import AccessMode
from core.encryption import DecryptionError, decrypt, encrypt
from directory.models import DirectoryProvider
from directory.services import directory_service_connect

SECRET = "1//0g-super-secret-refresh-token"


def raw_column(model, pk: int, column: str = "credentials") -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.fixture
def every_credential_holder(acme, bob, alice, acme_services):
    service = calendar_service_authorize(
        service=acme_services[AccessMode.READ_WRITE],
        credentials={"refresh_token": SECRET},
        granted_scopes=["email"],
        actor=bob,
    )
    directory = directory_service_connect(organization=acme, provider=DirectoryProvider.MICROSOFT, connected_by=bob)
    organization_connection_store_credentials(
        connection=directory, credentials={"client_secret": SECRET}, granted_scopes=[], actor=bob
    )
    conferencing = conferencing_service_connect(organization=acme, provider=ConferencingProvider.ZOOM, connected_by=bob)
    organization_connection_store_credentials(
        connection=conferencing, credentials={"client_secret": SECRET}, granted_scopes=[], actor=bob
    )
    # Her own Google account: her work address is connected by Acme's service, not by her.
    profile = calendar_profile_connect(
        user=alice,
        provider_name="google",
        profile_name="alice.at.home@gmail.example",
        provider_account_id="g-1",
        credentials={"refresh_token": SECRET},
    )
    revocation = ProviderGrantRevocation.objects.create(
        profile=profile, platform="google", credentials={"refresh_token": SECRET}, reason="t", next_attempt_at=now()
    )
    return [service, directory, conferencing, profile, revocation]


def test_no_credential_is_stored_in_plain_text(every_credential_holder):
    for holder in every_credential_holder:
        stored = raw_column(type(holder), holder.pk)
        assert SECRET not in stored
        assert "refresh_token" not in stored
        assert "client_secret" not in stored
        assert stored.startswith("gAAAAA")  # a Fernet token
        holder.refresh_from_db()
        assert SECRET in json.dumps(holder.credentials)


def test_a_dump_of_the_database_holds_ciphertext_only(every_credential_holder):
    out = io.StringIO()
    call_command("dumpdata", "calendars", "directory", "conferencing", stdout=out)
    assert SECRET not in out.getvalue()


def test_keys_rotate_without_losing_a_credential(every_credential_holder, settings):
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *old_keys]  # new key first: it encrypts from now on
    service = CalendarService.objects.get(pk=every_credential_holder[0].pk)
    assert service.credentials == {"refresh_token": SECRET}  # old ciphertext still reads

    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "calendars.CalendarService.credentials: 1 re-encrypted" in out.getvalue()

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old keys are retired
    for holder in every_credential_holder:
        stored = raw_column(type(holder), holder.pk)
        assert SECRET in Fernet(new_key.encode()).decrypt(stored.encode()).decode()
        assert type(holder).objects.get(pk=holder.pk).credentials is not None


def test_a_retired_key_fails_loudly_without_echoing_the_ciphertext(settings):
    token = encrypt("secret")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(DecryptionError) as error:
        decrypt(token)
    assert token not in str(error.value)


def test_only_null_checks_can_query_credentials(every_credential_holder):
    assert CalendarProfile.objects.filter(credentials__isnull=False).count() == 1
    with pytest.raises(FieldError, match="Unsupported lookup"):
        list(CalendarProfile.objects.filter(credentials={"refresh_token": SECRET}))
