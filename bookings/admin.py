"""Managed events in the IT-admin console: how each was delivered, its invitations and their
delivery state, the replies that came back and what they did, and a resend for failed invitations."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.console import OrganizationScopedAdmin, PeopleScopedAdmin, badge
from accounts.models import User
from bookings.conferencing import managed_event_conference_retry
from bookings.invitations import invitation_resend
from bookings.models import (
    ConferencingState,
    DeliveryMode,
    InboundReply,
    Invitation,
    ManagedEvent,
    ManagedEventAttendee,
    SenderDomain,
)
from bookings.senders import sender_domain_names, sender_domain_records, sender_domain_set, sender_domain_verify


def _staff_user(request: HttpRequest) -> User:
    """The signed-in console user: the admin site lets no anonymous request reach its views."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


DELIVERY_TONES: dict[str, str] = {DeliveryMode.NATIVE: "read-write", DeliveryMode.EMAIL: "free-busy"}
CONFERENCING_TONES: dict[str, str] = {
    ConferencingState.ASSIGNED: "ok",
    ConferencingState.PENDING: "waiting",
    ConferencingState.FAILING: "alert",
    ConferencingState.FAILED: "alert",
}


class EventScopedAdmin(PeopleScopedAdmin):
    """Events of the people in the organizations the admin runs (read-only: integrators own them)."""

    person_path = "calendar__profile__user"
    service_organization_path = "calendar__profile__organization"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """Shown on event pages only, which are scoped already."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True


class AttendeeInline(ReadOnlyInline):
    model = ManagedEventAttendee
    # Tuples here and below: both attributes take one (the stubs type `fields` as a list of wider items).
    readonly_fields = ("email", "display_name", "status", "is_room", "removed_at")
    fields = readonly_fields


class InvitationInline(ReadOnlyInline):
    model = Invitation
    readonly_fields = ("recipient", "method", "sequence", "version", "state", "attempts", "sent_at", "last_error")
    fields = readonly_fields

    @admin.display(description="Delivery")
    def state(self, obj: Invitation) -> SafeString:
        return invitation_state(obj)


class ReplyInline(ReadOnlyInline):
    model = InboundReply
    readonly_fields = ("received_at", "attendee_email", "partstat", "sequence", "outcome", "reason")
    fields = readonly_fields


def invitation_state(obj: Invitation) -> SafeString:
    if obj.sent_at:
        return badge("Sent", "ok")
    if obj.failed_at:
        return badge("Failed", "alert")
    return badge("Waiting" if not obj.attempts else f"Retrying ({obj.attempts})", "waiting")


@admin.register(ManagedEvent)
class ManagedEventAdmin(EventScopedAdmin):
    list_display = ["summary", "organizer", "start", "delivery", "delivery_state", "conference", "application"]
    list_filter = ["delivery_mode", "write_state", "conferencing_state"]
    actions = ["retry_conferencing"]
    list_select_related = ["calendar__profile", "application"]
    search_fields = ["summary", "event_id", "event_uid", "calendar__profile__profile_name"]
    inlines = [AttendeeInline, InvitationInline, ReplyInline]
    readonly_fields = (
        "summary",
        "event_uid",
        "event_id",
        "application",
        "organizer",
        "start",
        "end",
        "tzid",
        "location",
        "join_url",
        "conference",
        "conferencing_error",
        "delivery",
        "delivery_state",
        "sequence",
        "version",
        "ical_uid",
        "provider_event_id",
        "write_error",
        "deleted_at",
    )
    fields = readonly_fields

    @admin.display(description="Organizer")
    def organizer(self, obj: ManagedEvent) -> str:
        return obj.calendar.profile.profile_name

    @admin.display(description="Delivery", ordering="delivery_mode")
    def delivery(self, obj: ManagedEvent) -> SafeString:
        return badge(obj.get_delivery_mode_display(), DELIVERY_TONES.get(obj.delivery_mode, "off"))

    @admin.display(description="State")
    def delivery_state(self, obj: ManagedEvent) -> SafeString:
        if obj.delivery_mode == DeliveryMode.NATIVE:
            tone = {"written": "ok", "failed": "alert"}.get(obj.write_state, "waiting")
            return badge(obj.get_write_state_display() or "Nothing to write", tone)
        counts = {"sent": 0, "failed": 0, "waiting": 0}
        for invitation in obj.invitations.all():
            key = "sent" if invitation.sent_at else "failed" if invitation.failed_at else "waiting"
            counts[key] += 1
        parts = [f"{number} {key}" for key, number in counts.items() if number]
        return badge(", ".join(parts) or "No invitations", "alert" if counts["failed"] else "ok")

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).prefetch_related("invitations")

    @admin.display(description="Conferencing", ordering="conferencing_state")
    def conference(self, obj: ManagedEvent) -> SafeString:
        if not obj.conferencing_state:
            return badge(obj.conferencing_description or "None", "off") if obj.join_url else SafeString("")
        tone = CONFERENCING_TONES.get(obj.conferencing_state, "waiting")
        return badge(f"{obj.conferencing_description}: {obj.get_conferencing_state_display()}", tone)

    @admin.action(description="Try the conferencing of the selected events again (where it was given up)")
    def retry_conferencing(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        count = 0
        for event in queryset.filter(conferencing_state=ConferencingState.FAILED):
            managed_event_conference_retry(event=event)
            count += 1
        self.message_user(request, f"Trying {count} event(s) again.", messages.SUCCESS)


@admin.register(Invitation)
class InvitationAdmin(EventScopedAdmin):
    person_path = "event__calendar__profile__user"
    service_organization_path = "event__calendar__profile__organization"
    list_display = ["recipient", "event", "method", "sequence", "state", "attempts", "created_at", "last_error"]
    list_filter = [("failed_at", admin.EmptyFieldListFilter), ("sent_at", admin.EmptyFieldListFilter), "method"]
    list_select_related = ["event"]
    search_fields = ["recipient", "event__summary", "message_id"]
    actions = ["resend"]
    readonly_fields = (
        "event",
        "recipient",
        "method",
        "sequence",
        "version",
        "state",
        "message_id",
        "subject",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "failed_at",
        "last_error",
        "ics",
    )
    fields = readonly_fields

    @admin.display(description="Delivery")
    def state(self, obj: Invitation) -> SafeString:
        return invitation_state(obj)

    @admin.action(description="Send the selected failed invitations again (same message)")
    def resend(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        failed = [invitation for invitation in queryset if invitation.failed_at is not None]
        for invitation in failed:
            invitation_resend(invitation=invitation)
        self.message_user(request, f"Queued {len(failed)} invitation(s) again.")


@admin.register(InboundReply)
class InboundReplyAdmin(EventScopedAdmin):
    """Replies that matched no event belong to no organization: only superusers see those."""

    person_path = "event__calendar__profile__user"
    service_organization_path = "event__calendar__profile__organization"
    list_display = ["received_at", "attendee_email", "event", "partstat", "outcome", "source", "reason"]
    list_filter = ["outcome", "source"]
    search_fields = ["attendee_email", "uid", "envelope_sender"]
    readonly_fields = (
        "received_at",
        "source",
        "envelope_sender",
        "envelope_recipient",
        "client_address",
        "authentication",
        "event",
        "uid",
        "sequence",
        "attendee_email",
        "partstat",
        "outcome",
        "reason",
        "raw",
    )
    fields = readonly_fields


class SenderDomainForm(forms.ModelForm):
    class Meta:
        model = SenderDomain
        fields = ["organization", "domain", "from_local_part", "reply_domain"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what ModelForm.clean returns (its stub allows None)
        if "domain" in data:
            data["domain"], data["reply_domain"] = sender_domain_names(data["domain"], data.get("reply_domain") or "")
        return data


@admin.register(SenderDomain)
class SenderDomainAdmin(OrganizationScopedAdmin):
    """An organization's own domain for invitations, and the DNS records that make it usable."""

    form = SenderDomainForm
    list_display = ["domain", "organization", "from_email", "verified", "last_check"]
    readonly_fields = ["verified", "dns_records", "last_check", "check_button"]
    fieldsets = [
        (None, {"fields": ["organization", "domain", "from_local_part", "reply_domain"]}),
        ("DNS", {"fields": ["verified", "dns_records", "last_check", "check_button"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: SenderDomain | None = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "organization"] if obj is not None else readonly

    def save_model(self, request: HttpRequest, obj: SenderDomain, form: forms.ModelForm, change: bool) -> None:
        saved = sender_domain_set(
            organization=form.cleaned_data.get("organization") or obj.organization,
            domain=form.cleaned_data["domain"],
            reply_domain=form.cleaned_data.get("reply_domain") or "",
            from_local_part=form.cleaned_data["from_local_part"],
            actor=_staff_user(request),
        )
        obj.pk = saved.pk

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/check-dns/", wrap(self.check_dns_view), name="bookings_senderdomain_check_dns"),
            *super().get_urls(),
        ]

    def check_dns_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        sender = self.get_object(request, object_id)
        if not self.has_change_permission(request, sender):
            raise PermissionDenied
        if request.method != "POST":
            return TemplateResponse(
                request,
                "admin/bookings/senderdomain/check_dns.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.opts,
                    "original": sender,
                    "title": f"Check the DNS records of {sender.domain}",
                    "records": sender_domain_records(sender),
                },
            )
        sender_domain_verify(sender=sender, actor=_staff_user(request))
        tone = messages.SUCCESS if sender.is_verified else messages.WARNING
        self.message_user(request, sender.last_check, tone)
        return HttpResponseRedirect(reverse("admin:bookings_senderdomain_change", args=[sender.pk]))

    @admin.display(description="From")
    def from_email(self, obj: SenderDomain) -> str:
        return obj.from_email

    @admin.display(description="In use")
    def verified(self, obj: SenderDomain) -> SafeString:
        if obj.pk is None:
            return SafeString("")
        if obj.is_verified:
            return badge(f"Verified {obj.verified_at:%Y-%m-%d %H:%M} UTC", "ok")
        return badge("Waiting for its DNS records", "waiting")

    @admin.display(description="Publish these records")
    def dns_records(self, obj: SenderDomain) -> SafeString:
        if obj.pk is None:
            return SafeString("Save first: a DKIM key is made for the domain.")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td><code>{}</code></td><td><code class='dns-value'>{}</code></td><td>{}</td></tr>",
            ((r.kind, r.name, r.value, r.purpose) for r in sender_domain_records(obj)),
        )
        return format_html(
            "<table class='dns-records'><thead><tr><th>Type</th><th>Name</th><th>Value</th><th>Why</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="")
    def check_button(self, obj: SenderDomain) -> SafeString:
        if obj.pk is None:
            return SafeString("")
        url = reverse("admin:bookings_senderdomain_check_dns", args=[obj.pk])
        return format_html('<a class="button" href="{}">Check DNS now</a>', url)
