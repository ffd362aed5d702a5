"""Attendees' replies to invitations, as real mail: through the SMTP receiver and through Mailgun's
inbound webhook (signature checked by django-anymail). A valid reply updates the attendee, refreshes
the organizer's copy and reaches `/v1/events` and the integrator's channel; every kind of bad reply
is kept for inspection and changes nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from django.test import Client
from icalendar import Calendar as ICalendar
from icalendar import Event as IEvent
from icalendar import vCalAddress

from accounts.oauth import application_create, tokens_issue_for
from bookings.imip import attendee_reply_address
from bookings.models import AttendeeStatus, InboundReply, ManagedEventAttendee, ReplyOutcome
from bookings.services import EventInput, Invitee, managed_event_upsert
from bookings.smtp_receiver import receiver as reply_receiver
from calendars.notifications import channel_create
from calendars.services import calendar_profile_connect
from conftest import make_user
from tests.e2e import INTEGRATOR_REDIRECT
from tests.mailserver import dkim_signed, free_port

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime(2027, 3, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
def booked(smtp_server):
    """Nina (No Access) invited Casey; the invitations went out through a real SMTP server."""
    application, secret = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
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
            invite=[Invitee(email="casey@example.com", display_name="Casey")],
        ),
    )
    smtp_server.clear()
    return {"event": event, "application": application, "secret": secret, "nina": nina, "calendar": calendar}


@pytest.fixture(autouse=True)
def _loopback_is_a_trusted_relay(settings):
    """These tests send as a relay on loopback would; test_reply_proof.py checks authentication."""
    settings.INVITATIONS_REPLY_TRUSTED_NETWORKS = ["127.0.0.0/8"]


def reply_address(event, attendee: str = "casey@example.com") -> str:
    return attendee_reply_address(event, event.attendees.get(email=attendee).reply_token)


@pytest.fixture
def replies_server(settings):
    port = free_port()
    controller = reply_receiver("127.0.0.1", port)
    controller.start()
    yield port
    controller.stop()


def reply_message(
    event, *, partstat="ACCEPTED", attendee="casey@example.com", sender=None, sequence=None, method="REPLY", uid=None
) -> EmailMessage:
    calendar = ICalendar()
    calendar.add("prodid", "-//Casey's Mail//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    vevent = IEvent()
    vevent.add("uid", uid or event.ical_uid)
    vevent.add("sequence", event.sequence if sequence is None else sequence)
    vevent.add("dtstamp", datetime.now(UTC))
    vevent.add("dtstart", event.start)
    vevent.add("organizer", vCalAddress(f"mailto:{reply_address(event)}"))
    who = vCalAddress(f"mailto:{attendee}")
    who.params["PARTSTAT"] = partstat
    vevent.add("attendee", who)
    calendar.add_component(vevent)
    message = EmailMessage()
    message["From"] = sender or attendee
    message["To"] = reply_address(event)
    message["Subject"] = f"{partstat.title()}: Interview"
    message.set_content("Answered with my calendar.")
    message.add_alternative(calendar.to_ical().decode(), subtype="calendar", params={"method": method})
    return message


def send(port: int, message: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message)


def casey() -> ManagedEventAttendee:
    return ManagedEventAttendee.objects.get(email="casey@example.com")


def test_an_accepted_reply_updates_the_attendee_the_organizer_the_api_and_the_channel(
    live_server, booked, replies_server, smtp_server, receiver
):
    token = tokens_issue_for(
        application=booked["application"], user=booked["nina"], scopes=["read_events"]
    ).access_token
    channel_create(grant=booked["nina"].grants.get(), callback_url=receiver.url, calendar_ids=[], only_managed=True)
    receiver.requests.clear()

    send(replies_server, reply_message(booked["event"]))

    reply = InboundReply.objects.get()
    assert (reply.source, reply.outcome, reply.attendee_email, reply.partstat) == (
        "smtp",
        ReplyOutcome.APPLIED,
        "casey@example.com",
        "ACCEPTED",
    )
    assert casey().status == AttendeeStatus.ACCEPTED

    [copy] = smtp_server.to("nina@legal.acme.example")  # the organizer's refreshed copy, and only that
    assert smtp_server.received == [copy]
    ics = next(p for p in copy.message.walk() if p.get_content_type() == "text/calendar").get_payload(decode=True)
    vevent = ICalendar.from_ical(ics).walk("VEVENT")[0]
    statuses = {str(a).removeprefix("mailto:"): str(a.params["PARTSTAT"]) for a in vevent["ATTENDEE"]}
    assert statuses == {"nina@legal.acme.example": "ACCEPTED", "casey@example.com": "ACCEPTED"}
    assert int(vevent["SEQUENCE"]) == booked["event"].sequence  # a status refresh is no new version

    body = (
        Client()
        .get(
            "/v1/events",
            {"tzid": "Etc/UTC", "from": "2027-03-24", "to": "2027-03-25", "only_managed": "true"},
            headers={"Authorization": f"Bearer {token}"},
        )
        .json()
    )
    assert body["events"][0]["attendees"] == [
        {"email": "casey@example.com", "display_name": "Casey", "status": "accepted"}
    ]
    assert [json.loads(r.body)["notification"]["type"] for r in receiver.requests] == ["change"]

    send(replies_server, reply_message(booked["event"]))  # the same answer again
    assert InboundReply.objects.order_by("-pk").first().outcome == ReplyOutcome.UNCHANGED
    assert len(smtp_server.received) == 1


def test_a_decline_and_a_tentative_answer(booked, replies_server):
    send(replies_server, reply_message(booked["event"], partstat="TENTATIVE"))
    assert casey().status == AttendeeStatus.TENTATIVE
    send(replies_server, reply_message(booked["event"], partstat="DECLINED"))
    assert casey().status == AttendeeStatus.DECLINED


def refusal(booked, replies_server, message: EmailMessage) -> str:
    send(replies_server, message)
    reply = InboundReply.objects.get()
    assert reply.outcome == ReplyOutcome.REJECTED
    assert casey().status == AttendeeStatus.NEEDS_ACTION  # nothing changed
    return reply.reason


def test_a_reply_from_someone_other_than_the_attendee_is_refused(booked, replies_server, smtp_server):
    reason = refusal(booked, replies_server, reply_message(booked["event"], sender="mallory@example.net"))
    assert "comes from mallory@example.net, not from casey@example.com" in reason
    assert smtp_server.received == []


def test_a_reply_for_someone_not_invited_is_refused(booked, replies_server):
    reason = refusal(booked, replies_server, reply_message(booked["event"], attendee="crasher@example.net"))
    assert "crasher@example.net is not an attendee" in reason


def test_a_reply_to_an_unknown_event_is_refused(booked, replies_server):
    reason = refusal(booked, replies_server, reply_message(booked["event"], uid="evt_nothing@elsewhere"))
    assert "No event of ours has the UID" in reason


def test_a_stale_reply_is_refused(booked, replies_server):
    managed_event_upsert(
        application=booked["application"],
        calendar=booked["calendar"],
        data=EventInput(
            event_id="interview-7",
            summary="Interview",
            start=START + timedelta(days=1),
            end=START + timedelta(days=1, hours=1),
            invite=[Invitee(email="casey@example.com", display_name="Casey")],
        ),
    )
    reason = refusal(booked, replies_server, reply_message(booked["event"], sequence=0))
    assert "answers SEQUENCE 0" in reason and "(SEQUENCE 1)" in reason


def test_a_request_is_not_a_reply(booked, replies_server):
    reason = refusal(booked, replies_server, reply_message(booked["event"], method="REQUEST"))
    assert "METHOD is REQUEST, not REPLY" in reason


def test_malformed_or_missing_icalendar_is_refused(booked, replies_server):
    message = reply_message(booked["event"])
    broken = EmailMessage()
    for header in ("From", "To", "Subject"):
        broken[header] = message[header]
    broken.set_content("Yes, I'll come.")
    broken.add_alternative("BEGIN:VCALENDAR\nthis is not icalendar", subtype="calendar", params={"method": "REPLY"})
    reason = refusal(booked, replies_server, broken)
    assert "cannot be read" in reason
    InboundReply.objects.all().delete()
    plain = EmailMessage()
    for header in ("From", "To", "Subject"):
        plain[header] = message[header]
    plain.set_content("Yes, I'll come.")
    assert "no iCalendar object" in refusal(booked, replies_server, plain)


def test_the_receiver_takes_mail_only_for_reply_addresses(replies_server):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "spammer@example.net", "ceo@acme.example", "Hi"
    message.set_content("Open relay?")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(replies_server, message)
    assert not InboundReply.objects.exists()


def mailgun_post(client: Client, raw: str, key: str, recipient: str = "event@invites.localhost"):
    timestamp, token = str(int(time.time())), "a" * 50
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return client.post(
        "/anymail/mailgun/inbound/",
        {
            "body-mime": raw,
            "timestamp": timestamp,
            "token": token,
            "signature": signature,
            "recipient": recipient,
            "sender": "casey@example.com",
        },
    )


def test_replies_through_mailguns_inbound_webhook(booked, settings, dns_zone):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": "key-for-tests"}
    raw = dkim_signed(reply_message(booked["event"], partstat="DECLINED"), "example.com", dns_zone)
    to = reply_address(booked["event"])
    assert mailgun_post(Client(), raw, "not-the-key", to).status_code == 400
    assert not InboundReply.objects.exists()
    assert mailgun_post(Client(), raw, "key-for-tests", to).status_code == 200
    reply = InboundReply.objects.get()
    assert (reply.source, reply.outcome) == ("webhook:mailgun", ReplyOutcome.APPLIED)
    assert casey().status == AttendeeStatus.DECLINED
