"""Invitations for Free/Busy and No Access organizers, as a real SMTP server receives them: MIME that
mail clients render as an invitation, iTIP methods with the right UID / SEQUENCE / ORGANIZER /
ATTENDEEs (checked with two independent iCalendar parsers), DKIM signatures that verify, and delivery
that survives an SMTP server being down or a worker dying, without duplicates."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from email.message import Message

import dkim
import pytest
import vobject
from django.db import connection
from django.utils import timezone
from icalendar import Calendar as ICalendar

from accounts.oauth import application_create
from bookings.dkim_signing import dns_value, generate_private_key
from bookings.invitations import invitations_queue
from bookings.models import Invitation, ManagedEvent
from bookings.replies import reply_notice_subject
from bookings.services import EventInput, Invitee, managed_event_delete, managed_event_upsert
from bookings.tasks import invitations_retry
from bookings.when import event_when
from calendars.services import calendar_profile_connect
from calendars.tasks import profile_first_sync
from conftest import make_user
from tests.e2e import INTEGRATOR_REDIRECT, connected_profile
from tests.mailserver import free_port, start

pytestmark = pytest.mark.django_db(transaction=True)

DKIM_KEY = generate_private_key()


@pytest.fixture(autouse=True)
def signing(settings):
    settings.INVITATIONS_FROM_EMAIL = "invitations@scheduling.example"
    settings.INVITATIONS_DKIM_PRIVATE_KEY = DKIM_KEY
    settings.INVITATIONS_DKIM_SELECTOR = "s2026"


@pytest.fixture(autouse=True)
def every_message_checks_out(request):
    """Whatever a test made the SMTP server receive: DKIM verifies, and both parsers read the same
    method and UID from it."""
    server = request.getfixturevalue("smtp_server") if "smtp_server" in request.fixturenames else None
    yield
    for got in server.received if server is not None else []:
        assert dkim_verifies(got.data), got.message["Subject"]
        method, ics = calendar_part(got.message)
        first, second = ICalendar.from_ical(ics), vobject.readOne(ics)
        assert str(first["METHOD"]) == second.method.value == method
        assert str(first.walk("VEVENT")[0]["UID"]) == second.vevent.uid.value


@pytest.fixture
def app(db):
    return application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])[0]


def nina():
    user = make_user("nina@legal.acme.example", "Nina Legal")
    return calendar_profile_connect(user=user, provider_name="cronofy", profile_name=user.email).calendars.get()


def free_busy(world, person: str, email: str):
    user = make_user(email, person.title())
    profile = connected_profile(world, user, person, mode="free_busy")
    profile_first_sync(profile.pk)
    return profile.calendars.get(is_primary=True)


def event_input(**changes) -> EventInput:
    start = datetime(2027, 3, 24, 10, 0, tzinfo=UTC)
    values = {
        "event_id": "interview-7",
        "summary": "Interview",
        "description": "With the hiring panel",
        "start": start,
        "end": start + timedelta(hours=1),
        "tzid": "Europe/London",
        "location": "Room 4",
        "invite": [Invitee(email="casey@example.com", display_name="Casey Candidate")],
        **changes,
    }
    return EventInput(**values)


def calendar_part(message: Message) -> tuple[str, str]:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return part.get_param("method"), part.get_payload(decode=True).decode()
    raise AssertionError("no text/calendar part")


def vevent(ics: str):
    return ICalendar.from_ical(ics).walk("VEVENT")[0]


def attendees(ics: str) -> dict[str, dict[str, str]]:
    found = {}
    for attendee in vevent(ics).get("ATTENDEE", []):
        found[str(attendee).removeprefix("mailto:")] = {k: str(v) for k, v in attendee.params.items()}
    return found


def dkim_verifies(data: bytes) -> bool:
    record = dns_value(DKIM_KEY).encode()
    return dkim.verify(
        data, dnsfunc=lambda name, timeout=5: record if name == b"s2026._domainkey.scheduling.example." else None
    )


#
# What arrives
#


def test_an_invitation_is_a_native_invite_with_a_verified_signature(smtp_server, app):
    calendar = nina()
    managed_event_upsert(application=app, calendar=calendar, data=event_input())
    event = ManagedEvent.objects.get()
    assert sorted(r for got in smtp_server.received for r in got.rcpt_tos) == [
        "casey@example.com",
        "nina@legal.acme.example",
    ]

    [got] = smtp_server.to("casey@example.com")
    message = got.message
    assert message.get_content_type() == "multipart/mixed"
    alternative = message.get_payload()[0]
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html", "text/calendar"]
    attachment = message.get_payload()[1]
    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_filename() == "invite.ics"
    assert message["From"] == '"Nina Legal (via Scheduling)" <invitations@scheduling.example>'
    assert message["Reply-To"] == "nina@legal.acme.example"
    assert message["Message-ID"] == Invitation.objects.get(recipient="casey@example.com").message_id
    assert subject(message) == "Invitation: Interview @ Wed 24 Mar 2027 10:00 \u2013 11:00 (Europe/London, UTC+00:00)"
    assert dkim_verifies(got.data)

    method, ics = calendar_part(message)
    assert method == "REQUEST"
    assert attachment.get_payload(decode=True).decode() == ics
    item = vevent(ics)
    assert ICalendar.from_ical(ics)["METHOD"] == "REQUEST"
    assert str(item["UID"]) == event.ical_uid
    assert int(item["SEQUENCE"]) == 0
    # Casey's copy names Casey's own reply address (a capability), not one derived from the event.
    casey_token = event.attendees.get(email="casey@example.com").reply_token
    assert str(item["ORGANIZER"]) == f"mailto:event+{casey_token}@invites.localhost"
    assert item["ORGANIZER"].params["CN"] == "Nina Legal"
    assert item["DTSTART"].params["TZID"] == "Europe/London"
    assert "Europe/London" in [str(tz["TZID"]) for tz in ICalendar.from_ical(ics).walk("VTIMEZONE")]
    assert attendees(ics) == {
        "nina@legal.acme.example": {"CN": "Nina Legal", "ROLE": "CHAIR", "PARTSTAT": "ACCEPTED"},
        "casey@example.com": {
            "CN": "Casey Candidate",
            "ROLE": "REQ-PARTICIPANT",
            "PARTSTAT": "NEEDS-ACTION",
            "RSVP": "TRUE",
        },
    }

    # A second, independent parser reads the same object.
    parsed = vobject.readOne(ics)
    assert parsed.method.value == "REQUEST"
    assert parsed.vevent.uid.value == event.ical_uid
    assert parsed.vevent.dtstart.value.utcoffset() == timedelta(0)  # 10:00 in London in March (GMT)
    assert sorted(a.value for a in parsed.vevent.attendee_list) == [
        "mailto:casey@example.com",
        "mailto:nina@legal.acme.example",
    ]


def subject(message: Message) -> str:
    """The subject as a mail client shows it: a non-ASCII subject is folded onto a continuation line
    from the start (Django's encoding), which leaves a leading space after unfolding."""
    return str(message["Subject"]).strip()


def bodies(message: Message) -> tuple[str, str]:
    """The plain-text and HTML bodies people read."""
    found = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }
    return found["text/plain"], found["text/html"]


@pytest.mark.parametrize(
    ("tzid", "start", "end", "when"),
    [
        # 10:00 in New York is 15:00 UTC: the subject and the body say 10:00 and the zone, never "UTC".
        (
            "America/New_York",
            datetime(2027, 3, 2, 15, 0, tzinfo=UTC),
            datetime(2027, 3, 2, 16, 0, tzinfo=UTC),
            "Tue 2 Mar 2027 10:00 \u2013 11:00 (America/New_York, UTC\u221205:00)",
        ),
        # A half-hour offset, and an event that ends the next day.
        (
            "Asia/Kolkata",
            datetime(2027, 3, 3, 17, 30, tzinfo=UTC),
            datetime(2027, 3, 3, 19, 0, tzinfo=UTC),
            "Wed 3 Mar 2027 23:00 \u2013 Thu 4 Mar 2027 00:30 (Asia/Kolkata, UTC+05:30)",
        ),
        # London either side of the last Sunday of March (28 Mar 2027), and an event across the change.
        (
            "Europe/London",
            datetime(2027, 3, 26, 10, 0, tzinfo=UTC),
            datetime(2027, 3, 26, 11, 0, tzinfo=UTC),
            "Fri 26 Mar 2027 10:00 \u2013 11:00 (Europe/London, UTC+00:00)",
        ),
        (
            "Europe/London",
            datetime(2027, 3, 29, 9, 0, tzinfo=UTC),
            datetime(2027, 3, 29, 10, 0, tzinfo=UTC),
            "Mon 29 Mar 2027 10:00 \u2013 11:00 (Europe/London, UTC+01:00)",
        ),
        (
            "Europe/London",
            datetime(2027, 3, 28, 0, 30, tzinfo=UTC),
            datetime(2027, 3, 28, 1, 30, tzinfo=UTC),
            "Sun 28 Mar 2027 00:30 \u2013 02:30 (Europe/London, UTC+00:00 at the start, UTC+01:00 at the end)",
        ),
    ],
)
def test_invitations_and_reply_notices_tell_the_time_in_the_events_own_zone(smtp_server, app, tzid, start, end, when):
    calendar = nina()
    managed_event_upsert(application=app, calendar=calendar, data=event_input(tzid=tzid, start=start, end=end))
    for got in smtp_server.received:  # the organizer's copy and Casey's invitation
        assert subject(got.message) == f"Invitation: Interview @ {when}"
        text, html = bodies(got.message)
        assert f"When: {when}\r\n" in text
        assert f"<strong>When:</strong> {when}</p>" in html
        assert "(UTC)" not in text + html
    smtp_server.received.clear()

    # The organizer's notice of a reply reads the same time.
    event = ManagedEvent.objects.get()
    casey = event.attendees.get(email="casey@example.com")
    casey.status = "accepted"
    invitations_queue(
        event=event,
        method="REQUEST",
        recipients=None,
        attendees=[casey],
        organizer_only=True,
        occasion="reply-1",
        subject=reply_notice_subject(attendee=casey, event=event),
    )
    [notice] = smtp_server.received
    assert subject(notice.message) == f"Casey Candidate has accepted: Interview @ {when}"
    assert f"When: {when}\r\n" in bodies(notice.message)[0]


def test_an_all_day_invitation_names_its_days():
    event = ManagedEvent(
        summary="Offsite",
        tzid="America/New_York",
        all_day=True,
        start=datetime(2027, 3, 2, 5, 0, tzinfo=UTC),
        end=datetime(2027, 3, 4, 5, 0, tzinfo=UTC),
    )
    assert event_when(event) == "Tue 2 Mar 2027 \u2013 Wed 3 Mar 2027 (all day)"
    event.end = datetime(2027, 3, 3, 5, 0, tzinfo=UTC)
    assert event_when(event) == "Tue 2 Mar 2027 (all day)"
    utc = ManagedEvent(summary="Call", tzid="Etc/UTC", start=datetime(2027, 3, 2, 9, 0, tzinfo=UTC))
    utc.end = utc.start + timedelta(minutes=30)
    assert event_when(utc) == "Tue 2 Mar 2027 09:00 \u2013 09:30 (UTC)"


def test_reminders_travel_as_alarms_in_invitations(smtp_server, app):
    calendar = nina()
    reminders = [{"minutes": 15}, {"minutes": 1440}]
    managed_event_upsert(application=app, calendar=calendar, data=event_input(reminders=reminders))
    for got in smtp_server.received:
        _, ics = calendar_part(got.message)
        alarms = vevent(ics).walk("VALARM")
        assert [str(alarm["ACTION"]) for alarm in alarms] == ["DISPLAY", "DISPLAY"]
        assert [alarm.decoded("TRIGGER") for alarm in alarms] == [timedelta(minutes=-15), timedelta(days=-1)]
        assert all(str(alarm["DESCRIPTION"]) == "Interview" for alarm in alarms)
        assert "TRIGGER:-PT15M" in ics
        assert [a.trigger.value for a in vobject.readOne(ics).vevent.valarm_list] == [
            timedelta(minutes=-15),
            timedelta(days=-1),
        ]
    smtp_server.clear()
    managed_event_delete(application=app, calendar=calendar, event_id="interview-7")
    assert smtp_server.received and all(
        not vevent(calendar_part(got.message)[1]).walk("VALARM") for got in smtp_server.received
    )  # a cancellation sets no alarm


@pytest.mark.parametrize(("person", "email"), [("alice", "alice@acme.example"), ("erin", "erin@contoso.example")])
def test_free_busy_organizers_on_each_provider_send_the_same_invitations(smtp_server, world, app, person, email):
    calendar = free_busy(world, person, email)
    managed_event_upsert(application=app, calendar=calendar, data=event_input())
    assert sorted(r for got in smtp_server.received for r in got.rcpt_tos) == sorted(["casey@example.com", email])
    method, ics = calendar_part(smtp_server.to("casey@example.com")[0].message)
    assert method == "REQUEST"
    assert attendees(ics)[email]["ROLE"] == "CHAIR"
    assert all(dkim_verifies(got.data) for got in smtp_server.received)


def test_updates_raise_the_sequence_only_when_attendees_must_act(smtp_server, app):
    calendar = nina()
    managed_event_upsert(application=app, calendar=calendar, data=event_input())
    smtp_server.clear()
    managed_event_upsert(application=app, calendar=calendar, data=event_input(summary="Interview (panel)"))
    _, ics = calendar_part(smtp_server.to("casey@example.com")[0].message)
    assert int(vevent(ics)["SEQUENCE"]) == 0 and str(vevent(ics)["SUMMARY"]) == "Interview (panel)"

    smtp_server.clear()
    later = event_input(
        summary="Interview (panel)",
        start=event_input().start + timedelta(days=1),
        end=event_input().end + timedelta(days=1),
    )
    managed_event_upsert(application=app, calendar=calendar, data=later)
    [got] = smtp_server.to("casey@example.com")
    assert subject(got.message).startswith("Updated invitation: ")
    method, ics = calendar_part(got.message)
    assert (method, int(vevent(ics)["SEQUENCE"])) == ("REQUEST", 1)
    assert vevent(ics)["DTSTART"].dt.day == 25


def test_removing_an_attendee_cancels_for_them_only(smtp_server, app):
    calendar = nina()
    both = [Invitee(email="casey@example.com"), Invitee(email="dana@example.com")]
    managed_event_upsert(application=app, calendar=calendar, data=event_input(invite=both))
    smtp_server.clear()
    managed_event_upsert(
        application=app, calendar=calendar, data=event_input(invite=both[1:], remove=["casey@example.com"])
    )

    method, ics = calendar_part(smtp_server.to("casey@example.com")[0].message)
    assert method == "CANCEL"
    assert "STATUS" not in vevent(ics)  # the event goes on for the others
    assert set(attendees(ics)) == {"casey@example.com", "nina@legal.acme.example"}
    assert int(vevent(ics)["SEQUENCE"]) == 1
    for other in ("dana@example.com", "nina@legal.acme.example"):
        method, ics = calendar_part(smtp_server.to(other)[0].message)
        assert (method, int(vevent(ics)["SEQUENCE"])) == ("REQUEST", 1)
        assert "casey@example.com" not in attendees(ics)


def test_deleting_cancels_for_everyone(smtp_server, app):
    calendar = nina()
    managed_event_upsert(application=app, calendar=calendar, data=event_input())
    smtp_server.clear()
    managed_event_delete(application=app, calendar=calendar, event_id="interview-7")
    assert sorted(r for got in smtp_server.received for r in got.rcpt_tos) == [
        "casey@example.com",
        "nina@legal.acme.example",
    ]
    for got in smtp_server.received:
        method, ics = calendar_part(got.message)
        assert method == "CANCEL"
        assert str(vevent(ics)["STATUS"]) == "CANCELLED"
        assert int(vevent(ics)["SEQUENCE"]) == 1
        assert subject(got.message).startswith("Cancelled: ")
    managed_event_delete(application=app, calendar=calendar, event_id="interview-7")  # again: nothing more is sent
    assert len(smtp_server.received) == 2


#
# Delivery that loses nothing
#


def test_an_smtp_outage_delays_delivery_and_sends_each_message_once(settings, app):
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    calendar = nina()
    managed_event_upsert(application=app, calendar=calendar, data=event_input())  # nothing listens yet
    rows = list(Invitation.objects.all())
    assert [(r.attempts, r.sent_at) for r in rows] == [(1, None), (1, None)]
    assert all("ConnectionRefusedError" in r.last_error for r in rows)

    server, controller = start(port)
    try:
        invitations_retry()  # not due yet: nothing is sent early
        assert server.received == []
        Invitation.objects.update(next_attempt_at=timezone.now())
        invitations_retry()
        invitations_retry()
        assert sorted(r for got in server.received for r in got.rcpt_tos) == [
            "casey@example.com",
            "nina@legal.acme.example",
        ]
        assert all(row.sent_at and row.attempts == 2 for row in Invitation.objects.all())
    finally:
        controller.stop()


def test_a_worker_killed_while_sending_loses_nothing_and_duplicates_nothing(settings, app):
    """A worker hangs talking to an SMTP server that never answers, and is killed: its transaction
    dies with it, the row is free again, and the next worker sends the message exactly once."""
    tarpit = socket.socket()
    tarpit.bind(("127.0.0.1", 0))
    tarpit.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(tarpit.accept()), daemon=True).start()
    calendar = nina()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    managed_event_upsert(application=app, calendar=calendar, data=event_input())
    Invitation.objects.update(sent_at=None, attempts=0, next_attempt_at=timezone.now())  # as if none were taken yet
    row = Invitation.objects.get(recipient="casey@example.com")
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        database_url = f"sqlite:///{database['NAME']}"
    else:
        database_url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    worker = subprocess.Popen(  # our own manage.py
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        args=[
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            f"from bookings.tasks import invitation_send; invitation_send({row.pk})",
        ],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "cronofy_site.settings_test",
            "DATABASE_URL": database_url,
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(tarpit.getsockname()[1]),
            "EMAIL_TIMEOUT": "60",
        },
    )
    try:
        deadline = time.monotonic() + 30
        while not accepted and time.monotonic() < deadline:
            time.sleep(0.1)
        if not accepted:
            worker.kill()
            raise AssertionError(f"the worker never reached the SMTP server: {worker.communicate()}")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        tarpit.close()
    row.refresh_from_db()
    assert row.sent_at is None  # not lost: still waiting
    assert row.next_attempt_at > timezone.now()  # claimed: nobody else sends it until the lease runs out
    invitations_retry()
    assert Invitation.objects.get(pk=row.pk).sent_at is None

    server, controller = start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
        Invitation.objects.update(next_attempt_at=timezone.now())  # the lease has run out
        invitations_retry()
        invitations_retry()
        assert len(server.to("casey@example.com")) == 1
        assert server.to("casey@example.com")[0].message["Message-ID"] == row.message_id
    finally:
        controller.stop()
