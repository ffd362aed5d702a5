"""Managed events, invitations and replies in the IT-admin console: scoped to the people of the
admin's organizations, with a resend for failed invitations."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.oauth import application_create
from bookings.models import Invitation, ManagedEvent
from bookings.services import EventInput, Invitee, managed_event_upsert
from calendars.services import calendar_profile_connect
from tests.e2e import INTEGRATOR_REDIRECT

pytestmark = pytest.mark.django_db(transaction=True)  # invitations go out after commit

START = datetime(2027, 3, 24, 10, tzinfo=UTC)


@pytest.fixture
def event(alice):
    application, _ = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    calendar = calendar_profile_connect(user=alice, provider_name="cronofy", profile_name=alice.email).calendars.get()
    return managed_event_upsert(
        application=application,
        calendar=calendar,
        data=EventInput(
            event_id="e1",
            summary="Interview",
            start=START,
            end=START + timedelta(hours=1),
            invite=[Invitee("casey@example.com")],
        ),
    )


def test_the_admin_of_the_organizer_sees_the_event_and_its_invitations(client_for, bob, event):
    page = client_for(bob).get(reverse("admin:bookings_managedevent_change", args=[event.pk])).content.decode()
    assert "casey@example.com" in page
    assert "Calendar invitations emailed by this system" in page
    assert "2 sent" in page


def test_another_organizations_admin_sees_nothing(client_for, charlie, event):
    client = client_for(charlie)
    assert "Interview" not in client.get(reverse("admin:bookings_managedevent_changelist")).content.decode()
    assert client.get(reverse("admin:bookings_managedevent_change", args=[event.pk])).status_code == 404
    invitation = Invitation.objects.first()
    assert client.get(reverse("admin:bookings_invitation_change", args=[invitation.pk])).status_code == 404


def test_failed_invitations_can_be_sent_again(client_for, bob, event, mailoutbox):
    failed = Invitation.objects.get(recipient="casey@example.com")
    Invitation.objects.filter(pk=failed.pk).update(
        sent_at=None, failed_at=timezone.now(), last_error="SMTPServerDisconnected"
    )
    listing = client_for(bob).get(reverse("admin:bookings_invitation_changelist"), {"failed_at__isempty": "0"})
    assert "casey@example.com" in listing.content.decode() and "Failed" in listing.content.decode()
    mailoutbox.clear()
    client_for(bob).post(
        reverse("admin:bookings_invitation_changelist"), {"action": "resend", "_selected_action": [failed.pk]}
    )
    failed.refresh_from_db()
    assert failed.sent_at is not None and failed.failed_at is None
    assert [m.to for m in mailoutbox] == [["casey@example.com"]]
    assert mailoutbox[0].extra_headers["Message-ID"] == failed.message_id  # the same message, again
    assert ManagedEvent.objects.get().invitations.count() == 2
