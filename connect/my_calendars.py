"""A person's own page ("My calendars"): their connected calendars with mode and provider, the
applications that have access and what each can do (revocable), changes of mode within what their
organization allows, their working hours, available periods and time zone (through the same services
as the API), and a week of their busy and available time.

Thin: every write goes through a service; what a mode means comes from its policy.
"""

from __future__ import annotations

import secrets
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.models import Grant, User
from accounts.oauth import grant_revoke_by_person, withheld_scopes
from accounts.services import user_save_changes
from bookings.availability_inputs import person_week
from calendars.access_modes import lowest_mode, modes_allowed_under, policy_for
from calendars.availability import merge
from calendars.choices import ProfileStatus
from calendars.managed_availability import (
    DAYS,
    availability_rule_delete,
    availability_rule_upsert,
    available_period_upsert,
    available_periods_delete,
    parse_clock,
)
from calendars.models import AvailabilityRule, AvailablePeriod, CalendarProfile
from calendars.selectors import calendar_ceiling_for, calendar_profiles_of_user
from calendars.services import calendar_profile_change_mode
from connect.consent import PROVIDER_LOGINS
from core.choices import AccessMode

WORKING_HOURS_RULE = "working_hours"


@cache
def _time_zones() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class WorkingHoursForm(forms.Form):
    """The person's time zone and weekly working hours: one span per day, days left empty are off."""

    tzid = forms.ChoiceField(label="Time zone", choices=_time_zones)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for day in DAYS:
            for edge in ("start", "end"):
                self.fields[f"{day}_{edge}"] = forms.CharField(
                    label=f"{day.capitalize()} {'from' if edge == 'start' else 'until'}",
                    required=False,
                    widget=forms.TimeInput(attrs={"type": "time"}),
                )

    @property
    def day_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [(day.capitalize(), self[f"{day}_start"], self[f"{day}_end"]) for day in DAYS]

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns self.cleaned_data, typed as optional by the stubs
        cleaned = self.cleaned_data
        periods = []
        for day in DAYS:
            opens, closes = (cleaned.get(f"{day}_{edge}", "").strip()[:5] for edge in ("start", "end"))
            if not opens and not closes:
                continue
            try:
                if not opens or not closes or parse_clock(closes) <= parse_clock(opens):
                    raise ValueError(day)
            except ValueError:
                self.add_error(f"{day}_end", f"{day.capitalize()}: give a start and a later end (HH:MM).")
                continue
            periods.append({"day": day, "start_time": opens, "end_time": closes})
        cleaned["weekly_periods"] = periods
        return cleaned


class AvailablePeriodForm(forms.Form):
    """A one-off span in which the person is available, in their own time zone."""

    start = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    end = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def __init__(self, *args: Any, tzid: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zoneinfo.ZoneInfo(tzid)

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns self.cleaned_data, typed as optional by the stubs
        cleaned = self.cleaned_data
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            # The inputs are wall-clock times where the person is.
            cleaned["start"] = start.replace(tzinfo=None).replace(tzinfo=self.zone)
            cleaned["end"] = end.replace(tzinfo=None).replace(tzinfo=self.zone)
            if cleaned["end"] <= cleaned["start"]:
                raise ValidationError("The period must end after it starts.")
        return cleaned


@dataclass(frozen=True)
class DaySpan:
    start: str
    end: str
    left: float  # percent of the day, for the week view's bars
    width: float


@dataclass(frozen=True)
class WeekDay:
    day: date
    busy: list[DaySpan]
    available: list[DaySpan]


def _week_start(raw: str | None, zone: zoneinfo.ZoneInfo) -> date:
    today = datetime.now(zone).date()
    try:
        chosen = date.fromisoformat(raw) if raw else today
    except ValueError:
        chosen = today
    return chosen - timedelta(days=chosen.weekday())


def _day_spans(intervals: list[tuple[int, int]], day_start: datetime, zone: zoneinfo.ZoneInfo) -> list[DaySpan]:
    day_end = datetime.combine(day_start.date() + timedelta(days=1), time(), tzinfo=zone)
    low, high = int(day_start.timestamp()), int(day_end.timestamp())
    length = high - low
    spans = []
    for start, end in merge(sorted(intervals)):
        start, end = max(start, low), min(end, high)
        if start >= end:
            continue
        shown_end = "24:00" if end == high else datetime.fromtimestamp(end, zone).strftime("%H:%M")
        spans.append(
            DaySpan(
                start=datetime.fromtimestamp(start, zone).strftime("%H:%M"),
                end=shown_end,
                left=round(100 * (start - low) / length, 2),
                width=round(100 * (end - start) / length, 2),
            )
        )
    return spans


def week_view(user: User, *, week: str | None) -> dict[str, Any]:
    """Seven days of the person's busy and available time, in their time zone."""
    zone = zoneinfo.ZoneInfo(user.default_tzid)
    monday = _week_start(week, zone)
    days = [datetime.combine(monday + timedelta(days=offset), time(), tzinfo=zone) for offset in range(7)]
    start, end = days[0], datetime.combine(monday + timedelta(days=7), time(), tzinfo=zone)
    member, uses_rules = person_week(user_id=user.pk, sub=user.public_id, tzid=user.default_tzid, start=start, end=end)
    busy = list(member.busy)
    available = list(member.available) if member.available is not None else None
    return {
        "days": [
            WeekDay(
                day=day.date(),
                busy=_day_spans(busy, day, zone),
                available=_day_spans(available, day, zone) if available is not None else [],
            )
            for day in days
        ],
        "uses_rules": uses_rules,
        "previous": (monday - timedelta(days=7)).isoformat(),
        "next": (monday + timedelta(days=7)).isoformat(),
        "monday": monday,
    }


def _profile_rows(user: User) -> list[dict[str, Any]]:
    """Each live calendar connection with what the person may do with it."""
    rows = []
    profiles = calendar_profiles_of_user(user_id=user.pk).exclude(status=ProfileStatus.DISCONNECTED)
    for profile in profiles.prefetch_related("calendars"):
        ceiling = calendar_ceiling_for(emails=[user.email, profile.profile_name])
        changes = []
        if profile.calendar_service_id is None:
            allowed = modes_allowed_under(ceiling.access_mode if ceiling else None, AccessMode.values)
            for mode in allowed:
                if mode == profile.access_mode:
                    continue
                policy = policy_for(mode)
                # A provider mode needs the provider's consent; No Access needs nothing from it.
                if policy.needs_provider_authorization and profile.platform is None:
                    continue
                changes.append(
                    {"mode": mode, "label": policy.label, "via_provider": policy.needs_provider_authorization}
                )
        login = PROVIDER_LOGINS.get(profile.platform or "")
        rows.append(
            {
                "profile": profile,
                "provider_label": login.label if login else "Kept here (no calendar provider)",
                "mode_label": profile.policy.label,
                "facts": profile.policy.facts_for(
                    application="An application you allow", provider=login.label if login else "this site"
                ),
                "calendars": [calendar for calendar in profile.calendars.all() if not calendar.is_deleted],
                "managed_by": profile.organization if profile.calendar_service_id else None,
                # Said only where the organization's mode leaves something out.
                "ceiling_text": ceiling.policy.ceiling_text(organization=ceiling.organization.name)
                if ceiling and modes_allowed_under(ceiling.access_mode, AccessMode.values) != list(AccessMode.values)
                else "",
                "changes": changes,
            }
        )
    return rows


def _application_rows(user: User, profiles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Applications with live grants and what each can do now, in the person's highest mode."""
    modes = [row["profile"].access_mode for row in profiles] or [lowest_mode(AccessMode.values)]
    policy = max((policy_for(mode) for mode in modes), key=lambda p: p.rank)
    rows = []
    for grant in Grant.objects.filter(user=user, revoked_at__isnull=True).select_related("application", "user"):
        withheld = withheld_scopes(user=user, grant=grant)
        usable = [scope for scope in grant.scopes if scope not in withheld]
        rows.append(
            {
                "grant": grant,
                "can": policy.describe_api_scopes(usable),
                "cannot": policy.describe_withheld(grant.scopes) if withheld else [],
            }
        )
    return rows


def _initial_hours(user: User) -> dict[str, str]:
    initial = {"tzid": user.default_tzid}
    rule = AvailabilityRule.objects.filter(user=user, rule_id=WORKING_HOURS_RULE).first()
    for period in rule.weekly_periods if rule else []:
        initial[f"{period['day']}_start"] = period["start_time"]
        initial[f"{period['day']}_end"] = period["end_time"]
    return initial


@require_http_methods(["GET", "POST"])
def my_calendars(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return HttpResponseRedirect(f"{reverse('account_login')}?next={request.path}")
    user = request.user
    hours_form = WorkingHoursForm(initial=_initial_hours(user))
    period_form = AvailablePeriodForm(tzid=user.default_tzid)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "working_hours":
            hours_form = WorkingHoursForm(request.POST)
            if hours_form.is_valid():
                _save_working_hours(user, hours_form.cleaned_data)
                messages.success(request, "Your working hours are saved.")
                return HttpResponseRedirect(request.path)
        elif action == "add_period":
            period_form = AvailablePeriodForm(request.POST, tzid=user.default_tzid)
            if period_form.is_valid():
                available_period_upsert(
                    user=user,
                    period_id=f"period-{secrets.token_hex(6)}",
                    start=period_form.cleaned_data["start"],
                    end=period_form.cleaned_data["end"],
                )
                messages.success(request, "The available period is added.")
                return HttpResponseRedirect(request.path)
        elif action == "delete_period":
            available_periods_delete(user=user, period_id=request.POST.get("period_id", ""))
            return HttpResponseRedirect(request.path)
        elif action == "revoke":
            grant = Grant.objects.filter(user=user, pk=request.POST.get("grant", "")).first()
            if grant is not None:
                grant_revoke_by_person(grant=grant, actor=user)
                messages.success(request, f"{grant.application.name} no longer has access to your calendars.")
            return HttpResponseRedirect(request.path)
        elif action == "change_mode":
            return _change_mode(request, user)
    profiles = _profile_rows(user)
    context = {
        "profiles": profiles,
        "applications": _application_rows(user, profiles),
        "hours_form": hours_form,
        "period_form": period_form,
        "periods": AvailablePeriod.objects.filter(user=user, end__gt=datetime.now(zoneinfo.ZoneInfo("UTC"))),
        "week": week_view(user, week=request.GET.get("week")),
        "zone": user.default_tzid,
    }
    return render(request, "connect/my_calendars.html", context, status=400 if hours_form.errors else 200)


def _save_working_hours(user: User, data: dict[str, Any]) -> None:
    if data["tzid"] != user.default_tzid:
        user.default_tzid = data["tzid"]
        user_save_changes(user=user, actor=user, changed_fields=["default_tzid"])
    if data["weekly_periods"]:
        availability_rule_upsert(
            user=user,
            rule_id=WORKING_HOURS_RULE,
            tzid=data["tzid"],
            calendar_ids=[],
            weekly_periods=data["weekly_periods"],
        )
    else:
        availability_rule_delete(user=user, rule_id=WORKING_HOURS_RULE)


def _change_mode(request: HttpRequest, user: User) -> HttpResponse:
    profile = CalendarProfile.objects.filter(user=user, public_id=request.POST.get("profile", "")).first()
    mode = request.POST.get("access_mode", "")
    if profile is None or mode not in AccessMode.values:
        messages.error(request, "Choose one of your calendars and a mode.")
        return HttpResponseRedirect(request.path)
    try:
        calendar_profile_change_mode(profile=profile, access_mode=mode, actor=user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{profile.profile_name} is now {policy_for(mode).label}.")
    return HttpResponseRedirect(request.path)
