"""Managed events: the events integrators create through this system, and who they involve.

They count as busy for everyone they involve, in every access mode: the organizer whose calendar
holds them and every attendee who has an account here (unless they declined). How they reach
people's calendars (a native write, or iMIP invitations) depends on the organizer's access mode.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from accounts.models import Application, User
from calendars.models import Calendar
from cronofy_site.lib.public_ids import PublicIdField


class Transparency(models.TextChoices):
    OPAQUE = "opaque", "Opaque (busy)"
    TRANSPARENT = "transparent", "Transparent (free)"


class AttendeeStatus(models.TextChoices):
    NEEDS_ACTION = "needs_action", "Needs action"
    ACCEPTED = "accepted", "Accepted"
    TENTATIVE = "tentative", "Tentative"
    DECLINED = "declined", "Declined"


class ManagedEvent(models.Model):
    """An event an integrator application manages, keyed like Cronofy by (calendar, event_id)."""

    event_uid = PublicIdField(prefix="evt", verbose_name="event uid")
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="managed_events")
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_events"
    )
    event_id = models.CharField(max_length=200, help_text="The integrator's own id for the event.")
    summary = models.CharField(max_length=1024)
    description = models.TextField(blank=True)
    location = models.CharField(max_length=1024, blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    all_day = models.BooleanField(default=False)
    tzid = models.CharField(max_length=64, default="Etc/UTC")
    transparency = models.CharField(max_length=12, choices=Transparency.choices, default=Transparency.OPAQUE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "event_id"], name="managed_event_once_per_calendar"),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="managed_event_ends_after_start"),
        ]
        indexes = [models.Index(fields=["calendar", "start"], name="managed_event_by_start")]

    def __str__(self) -> str:
        return self.summary

    @property
    def is_busy(self) -> bool:
        return self.deleted_at is None and self.transparency == Transparency.OPAQUE


class ManagedEventAttendee(models.Model):
    """Someone invited to a managed event; `user` is set when the address is an account here, whose
    availability the event then takes."""

    event = models.ForeignKey(ManagedEvent, on_delete=models.CASCADE, related_name="attendees")
    email = models.EmailField()
    display_name = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_event_invitations"
    )
    status = models.CharField(max_length=16, choices=AttendeeStatus.choices, default=AttendeeStatus.NEEDS_ACTION)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["event", "email"]
        constraints = [models.UniqueConstraint(fields=["event", "email"], name="managed_attendee_once_per_event")]

    def __str__(self) -> str:
        return self.email
