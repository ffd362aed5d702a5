"""What the consent pages promise is computed from the mode's policy and the Cronofy scopes asked for:
no page promises more than its mode allows. One test per mode and scope set reads the words; No
Access is offered on *Connect a calendar* whenever the application allows it, and its identity comes
from a confirmed email address or the organization's own list of its people."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from accounts.models import Role
from accounts.oauth import application_create
from accounts.services import membership_set
from calendars.choices import CalendarProvider
from calendars.models import CalendarProfile
from calendars.services import calendar_service_connect
from conftest import make_user, vouched
from core.choices import AccessMode
from tests.e2e import INTEGRATOR_REDIRECT

pytestmark = pytest.mark.django_db

NAME = "See your name, email address and time zone"
LIST = "See the list of your calendars"
EVENTS = "See the events in your calendars"
BUSY = "See when you are busy"
CREATE = "Create and update the events it schedules for you"
DELETE = "Delete the events it scheduled for you"
CALENDARS = "Create new calendars"
REPLY = "Accept or decline invitations for you"
FREE_OR_BUSY = "See when you are free or busy, never what your events are"
BY_EMAIL = "Schedule events for you, sent to you as email invitations"
CANCEL_BY_EMAIL = "Cancel the events it scheduled for you, by email"
KEPT_HERE = "See the calendar kept for you here"
AVAILABLE = "See when you are available, from the hours you set here and the events it books"
CALENDARS_HERE = "Create new calendars kept here"

# (mode, scope) -> (what it will be able to do, what it asked for but will not be able to do)
WORDS = {
    (AccessMode.READ_WRITE, "read_only"): ([NAME, LIST, BUSY, EVENTS], []),
    (AccessMode.FREE_BUSY, "read_only"): ([NAME, LIST, FREE_OR_BUSY], [EVENTS]),
    (AccessMode.NO_ACCESS, "read_only"): ([NAME, KEPT_HERE, AVAILABLE], [EVENTS]),
    (AccessMode.READ_WRITE, "free_busy_write"): ([NAME, LIST, BUSY, CREATE, DELETE], []),
    (AccessMode.FREE_BUSY, "free_busy_write"): ([NAME, LIST, FREE_OR_BUSY, BY_EMAIL, CANCEL_BY_EMAIL], []),
    (AccessMode.NO_ACCESS, "free_busy_write"): ([NAME, KEPT_HERE, AVAILABLE, BY_EMAIL, CANCEL_BY_EMAIL], []),
    (AccessMode.READ_WRITE, "read_write"): ([NAME, LIST, BUSY, EVENTS, CREATE, DELETE, CALENDARS, REPLY], []),
    (AccessMode.FREE_BUSY, "read_write"): (
        [NAME, LIST, FREE_OR_BUSY, BY_EMAIL, CANCEL_BY_EMAIL],
        [EVENTS, CALENDARS, REPLY],
    ),
    (AccessMode.NO_ACCESS, "read_write"): (
        [NAME, KEPT_HERE, AVAILABLE, BY_EMAIL, CANCEL_BY_EMAIL, CALENDARS_HERE],
        [EVENTS, REPLY],
    ),
}
# A request that leads to a page offering just this mode.
ONLY = {
    AccessMode.READ_WRITE: ({"provider_name": "google"}, [AccessMode.READ_WRITE]),
    AccessMode.FREE_BUSY: ({"provider_name": "google_free_busy"}, list(AccessMode.values)),
    AccessMode.NO_ACCESS: ({"provider_name": "cronofy"}, list(AccessMode.values)),
}


def authorize(client, application, scope: str, **extra: str):
    query = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": INTEGRATOR_REDIRECT,
        "scope": scope,
        "state": "s",
        **extra,
    }
    return client.get("/oauth/authorize?" + urlencode(query), follow=True)


def items(block: str, css_class: str) -> list[str]:
    found = re.search(rf'<ul class="plain-list {css_class}">(.*?)</ul>', block, flags=re.S)
    return [html.unescape(item).strip() for item in re.findall(r"<li>(.*?)</li>", found.group(1))] if found else []


def mode_blocks(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-mode="(\w+)">(.*?)</label>', page, flags=re.S))


@pytest.mark.parametrize(("mode", "scope"), sorted(WORDS))
def test_the_consent_page_says_what_the_mode_lets_the_application_do(client_for, alice, mode, scope):
    extra, offered = ONLY[mode]
    application, _ = application_create(
        name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT], offered_access_modes=offered
    )
    page = authorize(client_for(alice), application, scope, **extra).content.decode()
    blocks = mode_blocks(page)
    assert list(blocks) == [mode]
    can, cannot = WORDS[(mode, scope)]
    assert items(blocks[mode], "mode-permissions") == can
    assert items(blocks[mode], "mode-withheld") == cannot


def test_free_busy_never_promises_to_see_events(client_for, alice):
    application, _ = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    page = authorize(client_for(alice), application, "read_only", provider_name="google_free_busy").content.decode()
    promised = items(mode_blocks(page)[AccessMode.FREE_BUSY], "mode-permissions")
    assert not [line for line in promised if "event" in line.lower() and "never" not in line]


def test_no_access_never_says_the_application_sees_when_you_are_busy(client_for, alice):
    application, _ = application_create(
        name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT], offered_access_modes=list(AccessMode.values)
    )
    page = authorize(client_for(alice), application, "read_only", provider_name="cronofy").content.decode()
    assert "cannot see or change your calendar at all" in page
    assert "when you are busy" not in page.lower()


def test_the_provider_choice_promises_no_more_than_the_highest_mode_offered(client_for, alice, acme, bob):
    vouched(
        calendar_service_connect(
            organization=acme,
            provider=CalendarProvider.GOOGLE,
            access_mode=AccessMode.FREE_BUSY,
            domains=["acme.example"],
            connected_by=bob,
        )
    )
    application, _ = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    page = authorize(client_for(alice), application, "read_only free_busy_write").content.decode()
    assert "Which calendar do you use?" in page
    assert EVENTS not in page
    assert FREE_OR_BUSY in page


#
# No Access on Connect a calendar
#


def test_connect_a_calendar_offers_no_access_when_the_application_allows_it(client_for, alice):
    application, _ = application_create(
        name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT], offered_access_modes=list(AccessMode.values)
    )
    client = client_for(alice)
    page = authorize(client, application, "read_only free_busy_write")
    assert 'value="no_access"' in page.content.decode()
    review = client.post(page.redirect_chain[-1][0], {"provider": "no_access"}, follow=True).content.decode()
    assert list(mode_blocks(review)) == [AccessMode.NO_ACCESS]
    answer = client.post(page.redirect_chain[-1][0], {"action": "continue"})
    assert answer["Location"].startswith(INTEGRATOR_REDIRECT) and "code=" in answer["Location"]
    assert CalendarProfile.objects.get(user=alice).provider_name == "cronofy"


def test_no_access_is_not_offered_when_the_application_does_not_allow_it(client_for, alice):
    application, _ = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    page = authorize(client_for(alice), application, "read_only free_busy_write").content.decode()
    assert "Which calendar do you use?" in page
    assert 'value="no_access"' not in page


def test_an_application_offering_only_no_access_needs_no_provider_choice(client_for, alice):
    application, _ = application_create(
        name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT], offered_access_modes=[AccessMode.NO_ACCESS]
    )
    page = authorize(client_for(alice), application, "read_only").content.decode()
    assert "Which calendar do you use?" not in page
    assert list(mode_blocks(page)) == [AccessMode.NO_ACCESS]


def test_the_organizations_list_of_its_people_proves_a_no_access_identity(client_for, acme, bob, acme_services):
    nina = make_user("nina@legal.acme.example", "Nina")
    EmailAddress.objects.filter(user=nina).update(verified=False)
    membership_set(organization=acme, user=nina, role=Role.MEMBER, actor=bob)
    application, _ = application_create(
        name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT], offered_access_modes=list(AccessMode.values)
    )
    client = client_for(nina)
    page = authorize(client, application, "read_only free_busy_write")
    assert "Acme allows no access to your calendar" in page.content.decode()
    answer = client.post(page.redirect_chain[-1][0], {"action": "continue"})
    assert "code=" in answer["Location"]
    assert mail.outbox == []  # no confirmation link needed
    assert CalendarProfile.objects.get(user=nina).calendar_service == acme_services[AccessMode.NO_ACCESS]


def test_without_the_organizations_word_a_no_access_identity_needs_a_confirmed_address(client_for, acme_services):
    stranger = make_user("sam@legal.acme.example", "Sam")
    EmailAddress.objects.filter(user=stranger).update(verified=False)
    application, _ = application_create(
        name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT], offered_access_modes=list(AccessMode.values)
    )
    client = client_for(stranger)
    page = authorize(client, application, "read_only free_busy_write")
    answer = client.post(page.redirect_chain[-1][0], {"action": "continue"})
    assert answer.status_code == 200
    assert "Confirm your email address" in answer.content.decode()
    assert len(mail.outbox) == 1
    assert not CalendarProfile.objects.filter(user=stranger).exists()
