"""Staff sign in to the IT-admin console through allauth, with a second factor (TOTP) when required."""

from __future__ import annotations

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def mfa_required(settings):
    settings.STAFF_MFA_REQUIRED = True


def current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def sign_in(client: Client, email: str):
    return client.post(reverse("account_login"), {"login": email, "password": PASSWORD})


def open_authenticator_setup(client: Client, url: str):
    """Adding an authenticator asks for the password again (allauth protects it from a stolen session)."""
    response = client.get(url)
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    response = client.post(response["Location"], {"password": PASSWORD})
    return client.get(response["Location"])


def test_a_staff_member_without_an_authenticator_sets_one_up_before_the_console_opens(bob):
    client = Client()
    sign_in(client, bob.email)

    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))
    page = open_authenticator_setup(client, response["Location"])
    assert "needs a second sign-in step" in page.content.decode()
    assert client.get(reverse("admin:calendars_calendarservice_changelist")).status_code == 302

    secret = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"', page.content.decode()).group(1)
    activated = client.post(reverse("mfa_activate_totp"), {"code": current_code(secret)})
    assert activated.status_code == 302
    assert Authenticator.objects.filter(user=bob, type=Authenticator.Type.TOTP).exists()
    codes_page = client.get(activated["Location"]).content.decode()
    assert "Continue to the IT admin console" in codes_page
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_wrong_code_does_not_activate_the_authenticator(bob):
    client = Client()
    sign_in(client, bob.email)
    open_authenticator_setup(client, reverse("mfa_activate_totp"))
    page = client.post(reverse("mfa_activate_totp"), {"code": "000000"})
    assert page.status_code == 200
    assert "Incorrect code" in page.content.decode()
    assert not Authenticator.objects.filter(user=bob).exists()
    assert client.get(reverse("admin:index")).status_code == 302


def test_signing_in_asks_for_the_code_and_only_then_opens_the_console(bob):
    secret = generate_totp_secret()
    TOTP.activate(bob, secret)
    client = Client()

    response = sign_in(client, bob.email)
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get(reverse("admin:index"))["Location"].startswith(reverse("admin:login"))  # not signed in yet

    refused = client.post(reverse("mfa_authenticate"), {"code": "123456"})
    assert "Incorrect code" in refused.content.decode()
    assert client.post(reverse("mfa_authenticate"), {"code": current_code(secret)}).status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_requirement_can_be_turned_off(bob, settings):
    settings.STAFF_MFA_REQUIRED = False
    client = Client()
    sign_in(client, bob.email)
    assert client.get(reverse("admin:index")).status_code == 200


def test_people_who_are_not_staff_are_not_asked(alice):
    client = Client()
    sign_in(client, alice.email)
    assert client.get(reverse("mfa_index")).status_code == 200
    # The console stays closed to them, with or without a second factor.
    assert client.get(reverse("admin:index"))["Location"].startswith(reverse("admin:login"))


def test_signing_out_of_the_console_needs_no_second_factor(bob):
    client = Client()
    sign_in(client, bob.email)
    response = client.post(reverse("admin:logout"))
    assert response.status_code in (200, 302)
    assert "_auth_user_id" not in client.session
