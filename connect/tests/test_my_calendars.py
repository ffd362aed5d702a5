"""A person's own page: their calendars and modes, the applications with access (revocable), their
working hours, available periods and time zone through the same services as the API, a week view, and
changes of mode within what their organization allows."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from calendars.services import calendar_profile_connect

pytestmark = pytest.mark.django_db

URL = "/my/calendars/"


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def hosted(alice):
    return calendar_profile_connect(user=alice, provider_name="cronofy", profile_name=alice.email)


def test_it_asks_a_stranger_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_member_who_cannot_open_the_console_has_a_page_of_their_own(client_for, alice, hosted):
    page = text(client_for(alice).get(URL))
    assert "My calendars" in page
    assert "alice@acme.example" in page
    assert "No Access" in page
    assert "Kept here (no calendar provider)" in page
    assert "you set your availability here" in page
