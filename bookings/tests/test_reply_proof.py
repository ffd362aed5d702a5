"""Finding 6: a reply must be proven before it changes anything. Each recipient's invitation names
their own unguessable reply address; a reply counts only at the address of the attendee it answers
for, `From:` that attendee, with an authenticated sender (DKIM aligned with the From domain, checked
against DNS, or an explicitly trusted relay), for the event's current SEQUENCE. Refused replies are
kept with their reason, shown in the console, and change nothing."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from django.urls import reverse
from icalendar import Calendar as ICalendar
from icalendar import Event as IEvent
from icalendar import vCalAddress

from accounts.oauth import application_create
from bookings.imip import attendee_reply_address, organizer_address
from bookings.models import AttendeeStatus, InboundReply, ManagedEventAttendee, ReplyOutcome
from bookings.services import EventInput, Invitee, managed_event_upsert
from bookings.smtp_receiver import receiver as reply_receiver
from calendars.services import calendar_profile_connect
from conftest import make_user
from tests.e2e import INTEGRATOR_REDIRECT
from tests.mailserver import dkim_signed, free_port

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime(2027, 3, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
def booked(smtp_server, settings):
    """Nina invited Casey and Mallory. No relay is trusted: senders prove themselves with DKIM."""
    settings.INVITATIONS_REPLY_TRUSTED_NETWORKS = []
    application, _ = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    nina = make_user("nina@legal.acme.example", "Nina")
    calendar = calendar_profile_connect(user=nina, provider_name="cronofy", profile_name=nina.email).calendars.get()
    event = managed_event_upsert(
        application=application,
        calendar=calendar,
        data=EventInput(
            event_id="interview-7",
            summary="Interview",
            start=START,
            end=START + timedelta(hours=1),
            invite=[Invitee("casey@example.com", "Casey"), Invitee("mallory@evil.example", "Mallory")],
        ),
    )
    return event


@pytest.fixture
def replies_server():
    port = free_port()
    controller = reply_receiver("127.0.0.1", port)
    controller.start()
    yield port
    controller.stop()


def address_of(event, email: str) -> str:
    return attendee_reply_address(event, event.attendees.get(email=email).reply_token)


def reply(event, *, to: str, attendee: str = "casey@example.com", sender: str | None = None, sequence=None):
    calendar = ICalendar()
    calendar.add("prodid", "-//Mail//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REPLY")
    vevent = IEvent()
    vevent.add("uid", event.ical_uid)
    vevent.add("sequence", event.sequence if sequence is None else sequence)
    vevent.add("dtstamp", datetime.now(UTC))
    vevent.add("organizer", vCalAddress(f"mailto:{to}"))
    who = vCalAddress(f"mailto:{attendee}")
    who.params["PARTSTAT"] = "DECLINED"
    vevent.add("attendee", who)
    calendar.add_component(vevent)
    message = EmailMessage()
    message["From"] = sender or attendee
    message["To"] = to
    message["Subject"] = "Declined: Interview"
    message.set_content("No.")
    message.add_alternative(calendar.to_ical().decode(), subtype="calendar", params={"method": "REPLY"})
    return message


def deliver(port: int, raw: str | EmailMessage, to: str) -> InboundReply:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        if isinstance(raw, EmailMessage):
            smtp.send_message(raw, to_addrs=[to])
        else:
            smtp.sendmail("bounce@example.com", [to], raw.encode())
    return InboundReply.objects.latest("pk")


def casey() -> ManagedEventAttendee:
    return ManagedEventAttendee.objects.get(email="casey@example.com")


def test_each_recipient_gets_their_own_reply_address(booked, smtp_server):
    organizers = {}
    for received in smtp_server.received:
        part = next(p for p in received.message.walk() if p.get_content_type() == "text/calendar")
        vevent = ICalendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
        organizers[received.rcpt_tos[0]] = str(vevent["ORGANIZER"]).removeprefix("mailto:")
    assert organizers["casey@example.com"] == address_of(booked, "casey@example.com")
    assert organizers["mallory@evil.example"] == address_of(booked, "mallory@evil.example")
    assert organizers["nina@legal.acme.example"] == organizer_address(booked)
    assert len(set(organizers.values())) == 3
    assert booked.event_uid not in organizers["casey@example.com"]  # not derivable from the event


def test_a_reply_signed_by_the_attendees_domain_at_their_address_counts(booked, replies_server, dns_zone):
    to = address_of(booked, "casey@example.com")
    result = deliver(replies_server, dkim_signed(reply(booked, to=to), "example.com", dns_zone), to)
    assert result.outcome == ReplyOutcome.APPLIED, result.reason
    assert result.authentication == "pass (dkim d=example.com)"
    assert casey().status == AttendeeStatus.DECLINED


def test_another_attendee_cannot_answer_for_someone_else(booked, replies_server, dns_zone):
    """Mallory, invited too, sends a properly signed reply with From: Casey to her own address."""
    to = address_of(booked, "mallory@evil.example")
    forged = dkim_signed(reply(booked, to=to, attendee="casey@example.com"), "evil.example", dns_zone)
    result = deliver(replies_server, forged, to)
    assert result.outcome == ReplyOutcome.REJECTED
    assert "at this reply address" in result.reason
    assert casey().status == AttendeeStatus.NEEDS_ACTION


def test_a_reply_to_the_events_own_address_counts_for_nobody(booked, replies_server, dns_zone):
    to = organizer_address(booked)  # what an attacker can learn from the event id alone
    result = deliver(replies_server, dkim_signed(reply(booked, to=to), "example.com", dns_zone), to)
    assert (result.outcome, result.reason) == (
        ReplyOutcome.REJECTED,
        "It did not arrive at an attendee's own reply address.",
    )
    assert casey().status == AttendeeStatus.NEEDS_ACTION


def test_a_forged_from_without_a_valid_signature_is_refused(booked, replies_server, dns_zone):
    to = address_of(booked, "casey@example.com")
    unsigned = deliver(replies_server, reply(booked, to=to), to)
    assert unsigned.outcome == ReplyOutcome.REJECTED
    assert "not authenticated" in unsigned.reason
    # Signed, but by another domain than the From address's: not aligned.
    other = deliver(replies_server, dkim_signed(reply(booked, to=to), "evil.example", dns_zone), to)
    assert other.outcome == ReplyOutcome.REJECTED and "aligned with example.com" in other.reason
    assert casey().status == AttendeeStatus.NEEDS_ACTION


def test_a_trusted_relay_vouches_for_its_senders(booked, replies_server, settings):
    settings.INVITATIONS_REPLY_TRUSTED_NETWORKS = ["127.0.0.0/8"]
    to = address_of(booked, "casey@example.com")
    result = deliver(replies_server, reply(booked, to=to), to)
    assert result.outcome == ReplyOutcome.APPLIED, result.reason
    assert result.authentication.startswith("pass (delivered by trusted relay 127.0.0.1")


def test_a_sequence_above_the_events_is_refused(booked, replies_server, dns_zone):
    to = address_of(booked, "casey@example.com")
    result = deliver(replies_server, dkim_signed(reply(booked, to=to, sequence=99), "example.com", dns_zone), to)
    assert result.outcome == ReplyOutcome.REJECTED
    assert "SEQUENCE 99, a version never sent" in result.reason
    assert casey().status == AttendeeStatus.NEEDS_ACTION


def test_refused_replies_are_shown_with_their_reason_in_the_console(booked, replies_server, client_for):
    bob = make_user("bob@acme.example", "Bob")
    bob.is_superuser = bob.is_staff = True
    bob.save()
    to = address_of(booked, "casey@example.com")
    refused = deliver(replies_server, reply(booked, to=to), to)
    page = client_for(bob).get(reverse("admin:bookings_inboundreply_change", args=[refused.pk])).content.decode()
    assert "not authenticated" in page
    listing = client_for(bob).get(reverse("admin:bookings_inboundreply_changelist"), {"outcome": "rejected"})
    assert "casey@example.com" in listing.content.decode()
