"""An organization's own sending domain: configured in the console, which lists the DNS records to
publish; checked against a real DNS server; then invitations from its people come From it, signed
with its DKIM key, with replies on its own subdomain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dkim
import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.oauth import application_create
from accounts.services import membership_set
from bookings.dkim_signing import dns_value
from bookings.models import ManagedEvent, SenderDomain
from bookings.senders import reply_domains
from bookings.services import EventInput, Invitee, managed_event_upsert
from calendars.services import calendar_profile_connect
from conftest import make_user
from tests.e2e import INTEGRATOR_REDIRECT

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime(2027, 3, 24, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def mail_settings(settings):
    settings.INVITATIONS_MX_HOST = "mx.scheduling.example"


def configure(client_for, bob, acme) -> SenderDomain:
    response = client_for(bob).post(
        reverse("admin:bookings_senderdomain_add"),
        {
            "organization": acme.pk,
            "domain": "acme.example",
            "from_local_part": "calendar",
            "reply_domain": "invites.acme.example",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return SenderDomain.objects.get()


def check(client_for, bob, sender: SenderDomain) -> SenderDomain:
    url = reverse("admin:bookings_senderdomain_check_dns", args=[sender.pk])
    assert "Check DNS now" in client_for(bob).get(url).content.decode()
    client_for(bob).post(url)
    sender.refresh_from_db()
    return sender


def book(alice) -> ManagedEvent:
    application, _ = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    calendar = calendar_profile_connect(user=alice, provider_name="cronofy", profile_name=alice.email).calendars.get()
    return managed_event_upsert(
        application=application,
        calendar=calendar,
        data=EventInput(
            event_id=f"e{ManagedEvent.objects.count()}",
            summary="Interview",
            start=START,
            end=START + timedelta(hours=1),
            invite=[Invitee("casey@example.com")],
        ),
    )


def test_the_console_lists_the_records_and_checks_them_in_dns(client_for, bob, acme, dns_zone):
    sender = configure(client_for, bob, acme)
    page = client_for(bob).get(reverse("admin:bookings_senderdomain_change", args=[sender.pk])).content.decode()
    assert "scheduling._domainkey.acme.example" in page
    assert dns_value(sender.dkim_private_key) in page
    assert "10 mx.scheduling.example." in page
    assert "Waiting for its DNS records" in page

    sender = check(client_for, bob, sender)
    assert sender.verified_at is None
    assert "scheduling._domainkey.acme.example is missing" in sender.last_check
    assert "invites.acme.example has no MX record" in sender.last_check

    dns_zone.add("TXT", "scheduling._domainkey.acme.example", dns_value(sender.dkim_private_key))
    dns_zone.add("MX", "invites.acme.example", (10, "mx.scheduling.example."))
    sender = check(client_for, bob, sender)
    assert sender.verified_at is not None, sender.last_check
    assert "invites.acme.example" in reply_domains()


def test_invitations_use_the_verified_domain(client_for, bob, acme, dns_zone, smtp_server, settings):
    alice = make_user("alice@acme.example", "Alice")
    membership_set(organization=acme, user=alice, role=Role.MEMBER, actor=None)
    sender = configure(client_for, bob, acme)
    before = book(alice)  # not verified yet: this installation's own address and reply domain
    assert before.reply_domain == settings.INVITATIONS_REPLY_DOMAIN
    [got] = smtp_server.to("casey@example.com")
    assert got.message["From"].addresses[0].addr_spec == settings.INVITATIONS_FROM_EMAIL

    dns_zone.add("TXT", "scheduling._domainkey.acme.example", dns_value(sender.dkim_private_key))
    dns_zone.add("MX", "invites.acme.example", (10, "mx.scheduling.example."))
    check(client_for, bob, sender)
    smtp_server.clear()
    event = book(alice)
    assert event.reply_domain == "invites.acme.example"
    assert event.ical_uid.endswith("@invites.acme.example")
    [got] = smtp_server.to("casey@example.com")
    sent_by = got.message["From"].addresses[0]
    assert (sent_by.display_name, sent_by.addr_spec) == ("Alice (via Scheduling)", "calendar@acme.example")
    record = dns_value(sender.dkim_private_key).encode()
    assert dkim.verify(
        got.data, dnsfunc=lambda name, timeout=5: record if name == b"scheduling._domainkey.acme.example." else None
    )
    ics = next(p for p in got.message.walk() if p.get_content_type() == "text/calendar").get_content()
    casey_token = event.attendees.get(email="casey@example.com").reply_token
    assert f"mailto:event+{casey_token}@invites.acme.example" in ics.replace("\r\n ", "")


def test_another_organizations_admin_cannot_see_or_check_it(client_for, bob, charlie, acme):
    sender = configure(client_for, bob, acme)
    assert client_for(charlie).get(reverse("admin:bookings_senderdomain_change", args=[sender.pk])).status_code == 404
    assert (
        client_for(charlie).post(reverse("admin:bookings_senderdomain_check_dns", args=[sender.pk])).status_code == 404
    )


def test_a_reply_domain_outside_the_domain_is_refused(client_for, bob, acme):
    response = client_for(bob).post(
        reverse("admin:bookings_senderdomain_add"),
        {
            "organization": acme.pk,
            "domain": "acme.example",
            "from_local_part": "calendar",
            "reply_domain": "evil.example",
        },
    )
    assert response.status_code == 200
    assert "Use acme.example or a subdomain of it." in response.content.decode()
    assert not SenderDomain.objects.exists()
