"""iMIP invitations (RFC 6047) for events this system delivers by email: the iCalendar object in
iTIP's terms (RFC 5546: REQUEST, CANCEL) and the MIME message mail clients show as an invitation with
Yes / No / Maybe.

The ORGANIZER is an agent address of ours, one per event, because attendees' clients send their
replies to the ORGANIZER; the person who organizes appears as an ATTENDEE with the CHAIR role, as
CalConnect recommends. Times are written in the event's time zone with its VTIMEZONE. A join link goes
into DESCRIPTION, into LOCATION when the event has none, and into RFC 7986's CONFERENCE property.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import encoders
from email.mime.base import MIMEBase
from email.utils import formataddr, formatdate
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.message import SafeMIMEMultipart, SafeMIMEText
from django.template.loader import render_to_string
from icalendar import Alarm, Calendar, Event, Timezone, vCalAddress, vText

from bookings.dkim_signing import DkimKey, sign
from bookings.models import AttendeeStatus, ManagedEvent, Transparency
from bookings.when import event_when

PRODID = "-//Scheduling//Invitations 1.0//EN"
PARTSTAT: dict[str, str] = {
    AttendeeStatus.NEEDS_ACTION: "NEEDS-ACTION",
    AttendeeStatus.ACCEPTED: "ACCEPTED",
    AttendeeStatus.TENTATIVE: "TENTATIVE",
    AttendeeStatus.DECLINED: "DECLINED",
}


@dataclass(frozen=True, slots=True)
class Party:
    email: str
    name: str = ""
    status: str = AttendeeStatus.NEEDS_ACTION


def reply_domain(event: ManagedEvent) -> str:
    return event.reply_domain or settings.INVITATIONS_REPLY_DOMAIN


def organizer_address(event: ManagedEvent) -> str:
    """The ORGANIZER of the organizer's own copy: it names the event, and no reply counts there."""
    return f"{settings.INVITATIONS_REPLY_LOCAL_PART}+{event.event_uid}@{reply_domain(event)}"


def attendee_reply_address(event: ManagedEvent, reply_token: str) -> str:
    """The ORGANIZER of one attendee's invitations: where that attendee's replies go, and the only
    address where a reply answering for them counts (a capability, unguessable)."""
    return f"{settings.INVITATIONS_REPLY_LOCAL_PART}+{reply_token}@{reply_domain(event)}"


def event_ical_uid(event: ManagedEvent) -> str:
    return f"{event.event_uid}@{reply_domain(event)}"


def message_id(event: ManagedEvent, *, method: str, recipient: str, occasion: str = "") -> str:
    recipient_hash = hashlib.sha256(f"{recipient.lower()}:{occasion}".encode()).hexdigest()[:10]
    # Short enough to stay on one header line.
    return f"<{event.event_uid}.{event.version}{method[0].lower()}{recipient_hash}@{reply_domain(event)}>"


def join_line(event: ManagedEvent) -> str:
    """How an event's join details read in text: "Join the Zoom meeting: <url>", and its passcode."""
    provider = event.conferencing_description
    line = f"Join the {provider} meeting: {event.join_url}" if provider else f"Join: {event.join_url}"
    meeting = event.conferencing_meeting if event.conferencing_meeting_id else None
    if meeting is not None and meeting.passcode:
        line += f"\nPasscode: {meeting.passcode}"
    return line


def _address(email: str, name: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = vText(name)
    for key, value in params.items():
        address.params[key] = vText(value)
    return address


def invitation_ics(
    event: ManagedEvent,
    *,
    method: str,
    organizer: Party,
    attendees: list[Party],
    dtstamp: datetime,
    cancelled: bool = False,
    reply_address: str | None = None,
) -> str:
    """The iCalendar object of one invitation. `attendees` are listed with their status; a CANCEL to
    one removed attendee lists only them and leaves STATUS out (the event goes on for the others).
    `reply_address` is the recipient's own ORGANIZER address (see attendee_reply_address)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    vevent = Event()
    vevent.add("uid", event.ical_uid)
    vevent.add("sequence", event.sequence)
    vevent.add("dtstamp", dtstamp)
    zone = zoneinfo.ZoneInfo(event.tzid)
    if event.all_day:
        vevent.add("dtstart", event.start.astimezone(zone).date())
        vevent.add("dtend", event.end.astimezone(zone).date())
    else:
        vevent.add("dtstart", event.start.astimezone(zone))
        vevent.add("dtend", event.end.astimezone(zone))
    vevent.add("summary", event.summary)
    description = event.description
    if event.join_url:
        description = f"{description}\n\n{join_line(event)}".strip()
    if description:
        vevent.add("description", description)
    if event.location:
        vevent.add("location", event.location)
    elif event.join_url:
        vevent.add("location", event.join_url)
    if event.join_url:
        label = f"Join the {event.conferencing_description} meeting" if event.conferencing_description else "Join"
        vevent.add("conference", event.join_url, parameters={"VALUE": "URI", "FEATURE": "VIDEO", "LABEL": label})
    if event.url:
        vevent.add("url", event.url)
    vevent.add("transp", "TRANSPARENT" if event.transparency == Transparency.TRANSPARENT else "OPAQUE")
    if event.event_private:
        vevent.add("class", "PRIVATE")
    if method == "CANCEL" and cancelled:
        vevent.add("status", "CANCELLED")
    elif method == "REQUEST":
        vevent.add("status", "CONFIRMED")
    vevent.add("organizer", _address(reply_address or organizer_address(event), organizer.name))
    vevent.add(
        "attendee",
        _address(organizer.email, organizer.name, ROLE="CHAIR", PARTSTAT="ACCEPTED"),
    )
    for attendee in attendees:
        vevent.add(
            "attendee",
            _address(
                attendee.email,
                attendee.name,
                ROLE="REQ-PARTICIPANT",
                PARTSTAT=PARTSTAT.get(attendee.status, "NEEDS-ACTION"),
                RSVP="TRUE" if method == "REQUEST" else "FALSE",
            ),
        )
    if method == "REQUEST":
        for reminder in event.reminders:
            vevent.add_component(_alarm(event, minutes=reminder["minutes"]))
    if not event.all_day and event.tzid not in ("UTC", "Etc/UTC"):
        # Only the transitions around the event: a compact VTIMEZONE every client reads the same way.
        calendar.add_component(
            Timezone.from_tzid(
                event.tzid,
                first_date=(event.start - timedelta(days=366)).date(),
                last_date=(event.end + timedelta(days=366)).date(),
            )
        )
    calendar.add_component(vevent)
    return calendar.to_ical().decode()


def _alarm(event: ManagedEvent, *, minutes: int) -> Alarm:
    """One of the event's reminders as RFC 5545's VALARM (a DISPLAY alarm needs a DESCRIPTION).
    Clients that take alarms from invitations (Apple Calendar, Thunderbird) remind the recipient."""
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", timedelta(minutes=-minutes))
    alarm.add("description", event.summary)
    return alarm


class InvitationEmail(EmailMessage):
    """An email whose body is an invitation: text and HTML for people, `text/calendar; method=...` for
    their calendar (the part that makes the RSVP buttons), and the same object as an `.ics` file."""

    def __init__(self, *, ics: str, method: str, html: str, dkim_key: DkimKey | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ics, self.method, self.html, self.dkim_key = ics, method, html, dkim_key

    def message(self) -> SafeMIMEMultipart:
        # Django's MIME classes: its SMTP backend serializes them with CRLF line endings.
        outer = SafeMIMEMultipart("mixed", encoding="utf-8")
        alternative = SafeMIMEMultipart("alternative", encoding="utf-8")
        alternative.attach(SafeMIMEText(str(self.body), "plain", "utf-8"))
        alternative.attach(SafeMIMEText(self.html, "html", "utf-8"))
        calendar_part = SafeMIMEText(self.ics, "calendar", "utf-8")
        calendar_part.set_param("method", self.method)
        alternative.attach(calendar_part)
        outer.attach(alternative)
        attachment = MIMEBase("application", "ics", name="invite.ics")
        attachment.set_param("method", self.method)
        attachment.set_payload(self.ics.encode())
        encoders.encode_base64(attachment)
        attachment.add_header("Content-Disposition", "attachment", filename="invite.ics")
        outer.attach(attachment)
        outer["Subject"] = str(self.subject)
        outer["From"] = self.extra_headers.get("From", self.from_email)
        outer["To"] = ", ".join(self.to)
        if self.reply_to:
            outer["Reply-To"] = ", ".join(self.reply_to)
        outer["Date"] = formatdate()
        for name, value in self.extra_headers.items():
            if name.lower() not in {"from", "to", "reply-to"}:
                outer[name] = value
        if self.dkim_key is not None:
            sign(outer, self.dkim_key)
        return outer


def invitation_text(event: ManagedEvent, *, method: str, cancelled: bool, organizer: Party) -> tuple[str, str]:
    meeting = event.conferencing_meeting if event.conferencing_meeting_id else None
    context = {
        "event": event,
        "method": method,
        "cancelled": cancelled,
        "organizer": organizer,
        "passcode": meeting.passcode if meeting is not None else "",
        "when": event_when(event),
    }
    return (
        render_to_string("bookings/invitation.txt", context),
        render_to_string("bookings/invitation.html", context),
    )


def sender(organizer: Party, from_email: str) -> str:
    """The sending address (DKIM-aligned), the person's name in its display name."""
    name = f"{organizer.name or organizer.email} (via {settings.INVITATIONS_SENDER_NAME})"
    return formataddr((name, from_email))
