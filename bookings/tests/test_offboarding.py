"""An offboarded organizer's future bookings follow the organization's policy: cancelled with CANCEL
invitations, handed over to a named organizer, or kept and flagged. The directory offboards them
(Acme's Google Workspace in the sandbox); bookings hears `person_offboarded`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.oauth import application_create
from bookings.models import Invitation, ManagedEvent
from bookings.services import EventInput, Invitee, managed_event_upsert
from directory.models import DirectoryService, OffboardingPolicy
from directory.rounds import directory_round
from directory.tests.fixtures import account
from sandbox import directory as sandbox_directory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def booked(directories, world):
    """Alice, onboarded by the directory (a hosted No Access calendar), organizes an interview next week."""
    DirectoryService.objects.filter(pk=directories.google.pk).update(offboarding_threshold=100)
    directory_round(service=DirectoryService.objects.get(pk=directories.google.pk))
    alice = account("alice@acme.example")
    application, _ = application_create(name="Scheduler", redirect_uris=["https://integrator.example/cb"])
    start = timezone.now().replace(microsecond=0) + timedelta(days=3)
    event = managed_event_upsert(
        application=application,
        calendar=alice.calendar_profiles.get().calendars.get(),
        data=EventInput(
            event_id="interview-7",
            summary="Interview",
            start=start,
            end=start + timedelta(hours=1),
            invite=[Invitee("candidate@example.com", "Candidate")],
        ),
    )
    mail.outbox.clear()
    return event


def offboard_alice(directories, world, policy: str, handover_to=None) -> None:
    DirectoryService.objects.filter(pk=directories.google.pk).update(offboarding_policy=policy, handover_to=handover_to)
    sandbox_directory.person_suspend(tenant=world.tenants["acme"], key="alice@acme.example")
    directory_round(service=DirectoryService.objects.get(pk=directories.google.pk))


def test_cancel_sends_cancel_invitations_to_every_attendee(booked, directories, world):
    offboard_alice(directories, world, OffboardingPolicy.CANCEL)
    booked.refresh_from_db()
    assert booked.deleted_at is not None
    cancels = Invitation.objects.filter(event=booked, method="CANCEL")
    assert {row.recipient for row in cancels} >= {"candidate@example.com"}
    assert any("METHOD:CANCEL" in message.message().as_string() for message in mail.outbox)
    assert AuditEvent.objects.filter(action="booking_cancelled", target_id=str(booked.pk)).exists()


def test_hand_over_moves_the_booking_to_the_named_organizer(booked, directories, world, bob):
    offboard_alice(directories, world, OffboardingPolicy.HAND_OVER, handover_to=bob)
    booked.refresh_from_db()
    assert booked.deleted_at is None
    assert booked.calendar.profile.user == bob
    assert Invitation.objects.filter(
        event=booked, method="REQUEST", recipient="candidate@example.com", version=booked.version
    ).exists()
    assert AuditEvent.objects.filter(action="booking_handed_over", target_id=str(booked.pk)).exists()


def test_keep_leaves_the_booking_and_flags_it(booked, directories, world):
    offboard_alice(directories, world, OffboardingPolicy.KEEP)
    booked.refresh_from_db()
    assert booked.deleted_at is None and booked.flagged_at is not None
    assert "suspended in the directory" in booked.flag_reason
    assert not Invitation.objects.filter(event=booked, method="CANCEL").exists()


def test_past_bookings_are_left_alone(booked, directories, world):
    ManagedEvent.objects.filter(pk=booked.pk).update(
        start=timezone.now() - timedelta(days=2), end=timezone.now() - timedelta(days=2, hours=-1)
    )
    offboard_alice(directories, world, OffboardingPolicy.CANCEL)
    booked.refresh_from_db()
    assert booked.deleted_at is None
