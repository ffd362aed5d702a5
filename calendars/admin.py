"""Calendar services and profiles in the IT-admin console."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest
from django.utils.safestring import SafeString

from calendars.models import Calendar, CalendarProfile, CalendarService
from calendars.services import (
    calendar_domains_check_free,
    calendar_profile_disconnect,
    calendar_service_connect,
    calendar_service_disconnect,
    calendar_service_update,
)
from cronofy_site.admin_mixins import (
    ConnectionAdmin,
    ConnectionSummaryInline,
    OrganizationScopedAdmin,
    access_mode_badge,
    data_shared_panel,
    status_badge,
)
from cronofy_site.lib.domains import parse_domain_list


class CalendarServiceForm(forms.ModelForm):
    domains = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60, "placeholder": "acme.com\nacme.co.uk"}),
        help_text="The email domains whose people this service serves, one per line. A domain belongs to one "
        "live calendar service at most.",
    )

    class Meta:
        model = CalendarService
        fields = ["organization", "provider", "access_mode"]
        help_texts = {
            "access_mode": (
                "Read-Write writes events into people's calendars. Free/Busy only sees when people are busy and "
                "sends events as email invitations. No Access reads nothing and sends invitations. A new mode "
                "needs a new authorization from the provider."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["domains"] = "\n".join(self.instance.domain_names)

    def clean_domains(self) -> list[str]:
        try:
            return parse_domain_list(self.cleaned_data["domains"])
        except ValidationError as error:
            raise ValidationError(error.messages) from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        organization = cleaned.get("organization") or getattr(self.instance, "organization", None)
        if cleaned.get("domains") and organization is not None:
            try:
                calendar_domains_check_free(
                    domains=cleaned["domains"],
                    organization=organization,
                    service=self.instance if self.instance.pk else None,
                )
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


class CalendarServiceInline(ConnectionSummaryInline):
    model = CalendarService
    fields = ["domains_list", "provider", "mode", "status_badge", "connected_by", "last_synced_at"]
    readonly_fields = fields
    add_link_label = "Connect a calendar service"

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).prefetch_related("domain_claims").select_related("connected_by")

    @admin.display(description="Domains")
    def domains_list(self, obj: CalendarService) -> str:
        return ", ".join(obj.domain_names)

    @admin.display(description="Access mode")
    def mode(self, obj: CalendarService) -> SafeString:
        return access_mode_badge(obj)


@admin.register(CalendarService)
class CalendarServiceAdmin(ConnectionAdmin):
    form = CalendarServiceForm
    list_display = [
        "__str__",
        "organization",
        "provider",
        "mode",
        "status_badge",
        "connected_by",
        "connected_at",
        "last_synced_at",
    ]
    list_filter = ["provider", "access_mode", "status", ("organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["domain_claims__domain", "organization__name", "public_id"]
    readonly_fields = [
        *ConnectionAdmin.readonly_fields,
        "mode",
        "external_id",
        "granted_scopes",
        "last_synced_at",
    ]
    settings_fieldset = ("Settings", {"fields": ["organization", "provider", "access_mode", "domains"]})
    fieldsets = [
        (
            "Status",
            {
                "fields": [
                    "mode",
                    "status_badge",
                    "last_error",
                    "connected_by",
                    "connected_at",
                    "last_synced_at",
                    "disconnected_at",
                    "public_id",
                    "external_id",
                ]
            },
        ),
        settings_fieldset,
        ("What data is shared", {"fields": ["data_shared"]}),
        ("Activity", {"fields": ["activity"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).prefetch_related("domain_claims")

    def get_fieldsets(self, request: HttpRequest, obj: CalendarService | None = None) -> list:
        return self.fieldsets if obj is not None else [self.settings_fieldset]

    def get_readonly_fields(self, request: HttpRequest, obj: CalendarService | None = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # A service's organization and provider never change: connect a new service instead.
            readonly += ["organization", "provider"]
            if not obj.is_live:
                readonly += ["access_mode"]
        return readonly

    def get_form(self, request: HttpRequest, obj: CalendarService | None = None, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, **kwargs)
        if obj is not None and not obj.is_live:
            form.base_fields["domains"].disabled = True
        return form

    @admin.display(description="Access mode", ordering="access_mode")
    def mode(self, obj: CalendarService) -> SafeString:
        return access_mode_badge(obj)

    def create_with_service(self, request: HttpRequest, form: forms.ModelForm) -> CalendarService:
        data = form.cleaned_data
        return calendar_service_connect(
            organization=data["organization"],
            provider=data["provider"],
            access_mode=data["access_mode"],
            domains=data["domains"],
            connected_by=request.user,
        )

    def update_with_service(self, request: HttpRequest, obj: CalendarService, form: forms.ModelForm) -> CalendarService:
        if not obj.is_live:
            return obj
        data = form.cleaned_data
        return calendar_service_update(
            service=obj, actor=request.user, domains=data["domains"], access_mode=data["access_mode"]
        )

    def disconnect(self, request: HttpRequest, obj: CalendarService) -> None:
        calendar_service_disconnect(service=obj, actor=request.user)


class CalendarInline(admin.TabularInline):
    model = Calendar
    fields = [
        "name",
        "public_id",
        "is_primary",
        "is_readonly",
        "is_deleted",
        "integrated_conferencing_available",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True  # shown only on profile pages, which are scoped already


@admin.register(CalendarProfile)
class CalendarProfileAdmin(OrganizationScopedAdmin):
    """Profiles are made by users connecting their calendars, never by hand: read-only here."""

    list_display = [
        "profile_name",
        "user",
        "provider_name",
        "mode",
        "status_badge",
        "organization",
        "connected_at",
    ]
    list_filter = [
        "provider_name",
        "access_mode",
        "status",
        ("organization", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["user", "organization"]
    search_fields = ["profile_name", "user__email", "public_id"]
    actions = ["disconnect_selected"]
    inlines = [CalendarInline]
    fields = [
        "public_id",
        "user",
        "organization",
        "calendar_service",
        "provider_name",
        "provider_service",
        "mode",
        "status_badge",
        "profile_name",
        "connected_at",
        "disconnected_at",
        "last_synced_at",
        "last_error",
        "data_shared",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Access mode", ordering="access_mode")
    def mode(self, obj: CalendarProfile) -> SafeString:
        return access_mode_badge(obj)

    @admin.display(description="Status")
    def status_badge(self, obj: CalendarProfile) -> SafeString:
        return status_badge(obj)

    @admin.display(description="What data is shared")
    def data_shared(self, obj: CalendarProfile) -> SafeString:
        return data_shared_panel(obj)

    @admin.action(description="Disconnect selected profiles (credentials are forgotten)")
    def disconnect_selected(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        for profile in queryset:
            calendar_profile_disconnect(profile=profile, actor=request.user)
        self.message_user(request, f"Disconnected {queryset.count()} profile(s).")
