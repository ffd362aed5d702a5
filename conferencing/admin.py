"""Conferencing services in the IT-admin console: connect each provider with a verified setup (a test
meeting created and deleted before the service goes live), its status, the people linked to it, the
meetings failing, what data is shared; and people's conferencing profiles."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from accounts.console import (
    ConnectionSummaryInline,
    PeopleScopedAdmin,
    ProviderConnectionAdmin,
    acting_user,
    organization_page_add_connections,
    status_badge,
)
from calendars.providers import endpoints
from calendars.providers.base import ProviderError
from calendars.providers.microsoft import GRAPH_DEFAULT_SCOPE
from conferencing.models import ConferencingProfile, ConferencingProvider, ConferencingService
from conferencing.providers import webex
from conferencing.providers.webex import WebexClient
from conferencing.selectors import conferencing_service_overview
from conferencing.services import (
    conferencing_service_authorize_meet,
    conferencing_service_authorize_teams,
    conferencing_service_authorize_webex,
    conferencing_service_authorize_zoom,
    conferencing_service_connect,
    conferencing_service_disconnect,
    conferencing_service_set_default,
    conferencing_service_update,
    conferencing_service_verify,
    required_scopes,
)
from conferencing.tasks import service_link_people

CALLBACK_SALT = "conferencing.admin.consent"
# What each provider's "connect" page asks of the admin, and its instructions (templates by provider).
AUTHORIZE_LABELS: dict[str, str] = {
    ConferencingProvider.ZOOM: "Enter the Zoom app's credentials",
    ConferencingProvider.GOOGLE_MEET: "Upload the service account key",
    ConferencingProvider.MS_TEAMS: "Grant admin consent in Microsoft 365",
    ConferencingProvider.WEBEX: "Authorize as a Webex administrator",
}


class ConferencingServiceInline(ConnectionSummaryInline):
    model = ConferencingService
    readonly_fields = fields = ("provider", "status_badge", "is_default", "connected_by", "connected_at")
    add_link_label = "Connect a conferencing service"


organization_page_add_connections(ConferencingServiceInline)


class ConferencingProfileInline(admin.TabularInline):
    """The people linked through this service (read-only: the provider's users and the directory decide)."""

    model = ConferencingProfile
    fk_name = "service"
    readonly_fields = fields = (
        "user",
        "profile_name",
        "provider_user_id",
        "status_badge",
        "connected_at",
        "disconnected_at",
    )
    extra = 0
    can_delete = False
    verbose_name_plural = "People linked by email address"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True  # shown only on service pages, which are scoped already

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).select_related("user")

    @admin.display(description="Status")
    def status_badge(self, obj: ConferencingProfile) -> SafeString:
        return status_badge(obj)


class ZoomForm(forms.Form):
    account_id = forms.CharField(max_length=100, label="Account ID")
    client_id = forms.CharField(max_length=200, label="Client ID")
    client_secret = forms.CharField(max_length=200, widget=forms.PasswordInput, help_text="Stored encrypted.")
    test_user = forms.EmailField(
        help_text="A user of the Zoom account: a test meeting is created and deleted for them."
    )


class MeetForm(forms.Form):
    key_file = forms.FileField(
        label="Service account key (JSON)",
        help_text="Stored encrypted. Delegate the scopes below to its client id in the Google Admin console first.",
    )
    test_user = forms.EmailField(help_text="A Workspace user: a test meeting is created for them, then closed.")

    def clean_key_file(self) -> dict[str, Any]:
        upload = self.cleaned_data["key_file"]
        if upload.size > 64 * 1024:
            raise ValidationError("A service account key file is a few kilobytes; this file is too large.")
        try:
            return json.loads(upload.read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ValidationError("The file is not JSON: download the key again from Google Cloud.") from None


class VerifyForm(forms.Form):
    test_user = forms.EmailField(help_text="A test meeting is created and deleted for this person.")


@admin.register(ConferencingService)
class ConferencingServiceAdmin(ProviderConnectionAdmin):
    connect_service = staticmethod(conferencing_service_connect)
    update_service = staticmethod(conferencing_service_update)
    disconnect_service = staticmethod(conferencing_service_disconnect)

    list_display = [*ProviderConnectionAdmin.list_display, "is_default", "linked_people"]
    readonly_fields = [
        *ProviderConnectionAdmin.readonly_fields,
        "authorization",
        "overview",
        "is_default",
        "verified_at",
    ]
    actions = [*ProviderConnectionAdmin.actions, "make_default", "link_people_now"]
    fieldsets = [
        (
            "Status",
            {
                "fields": [
                    "status_badge",
                    "authorization",
                    "overview",
                    "is_default",
                    "last_error",
                    "connected_by",
                    "connected_at",
                    "verified_at",
                    "disconnected_at",
                    "public_id",
                ]
            },
        ),
        ProviderConnectionAdmin.settings_fieldset,
        ("What data is shared", {"fields": ["data_shared"]}),
        ("Activity", {"fields": ["activity"], "classes": ["collapse"]}),
    ]
    inlines = [ConferencingProfileInline]

    def get_inlines(self, request: HttpRequest, obj: Any) -> list:
        return self.inlines if obj is not None else []

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(linked_count=models.Count("profiles", filter=models.Q(profiles__status="connected")))
        )

    @admin.display(description="People linked", ordering="linked_count")
    def linked_people(self, obj: ConferencingService) -> int:
        return getattr(obj, "linked_count", 0)

    @admin.display(description="People and meetings")
    def overview(self, obj: ConferencingService) -> str:
        if obj.pk is None:
            return ""
        state = conferencing_service_overview(service=obj)
        parts = [f"{state['linked']} people linked", f"{state['live']} meeting(s) held for booked events"]
        if state["failing"]:
            parts.append(f"{state['failing']} meeting(s) failing")
        if state["last_failure"]:
            parts.append(f"last failure {state['last_failure']['updated_at']:%Y-%m-%d %H:%M} UTC: ")
            return "; ".join(parts) + state["last_failure"]["last_error"]
        return "; ".join(parts) + "."

    @admin.display(description="Provider authorization")
    def authorization(self, obj: ConferencingService) -> SafeString:
        if obj.pk is None or not obj.is_live:
            return SafeString("")
        links = [
            (
                reverse("admin:conferencing_conferencingservice_authorize", args=[obj.pk]),
                AUTHORIZE_LABELS[obj.provider],
            )
        ]
        if obj.credentials:
            links.append(
                (reverse("admin:conferencing_conferencingservice_verify", args=[obj.pk]), "Check with a test meeting")
            )
        return format_html_join(" ", '<a class="button" href="{}">{}</a>', links)

    @admin.action(description="Make the organization's default (for profile_id “default”)")
    def make_default(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        for service in queryset:
            try:
                conferencing_service_set_default(service=service, actor=acting_user(request))
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)

    @admin.action(description="Link people now (match the organization's people by email)")
    def link_people_now(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        for service in queryset.filter(status="active"):
            service_link_people(service.pk)
        self.message_user(request, "People linked.", messages.SUCCESS)

    #
    # Authorizing at the provider, and the test meeting: pages of their own
    #

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path("microsoft-callback/", wrap(self.microsoft_callback_view), name="conferencing_microsoft_callback"),
            path("webex-callback/", wrap(self.webex_callback_view), name="conferencing_webex_callback"),
            path(
                "<path:object_id>/authorize/",
                wrap(self.authorize_view),
                name="conferencing_conferencingservice_authorize",
            ),
            path("<path:object_id>/verify/", wrap(self.verify_view), name="conferencing_conferencingservice_verify"),
            *super().get_urls(),
        ]

    def _changeable(self, request: HttpRequest, object_id: str) -> ConferencingService:
        service = self.get_object(request, object_id)  # 404 outside the caller's organizations
        if not self.has_change_permission(request, service) or not service.is_live:
            raise PermissionDenied
        return service

    def _page(self, request: HttpRequest, service: ConferencingService, template: str, context: dict) -> HttpResponse:
        return TemplateResponse(
            request,
            f"admin/conferencing/conferencingservice/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": service,
                "service": service,
                "scopes": required_scopes(service.provider),
                "teams_app_id": settings.MICROSOFT_TEAMS_CLIENT_ID,
                **context,
            },
        )

    def _change_url(self, service: ConferencingService) -> str:
        return reverse("admin:conferencing_conferencingservice_change", args=[service.pk])

    def _live(self, request: HttpRequest, service: ConferencingService) -> HttpResponse:
        self.message_user(
            request,
            f"Test meeting created and deleted: {service.get_provider_display()} is connected.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(self._change_url(service))

    def authorize_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        service = self._changeable(request, object_id)
        return AUTHORIZE_FLOWS[service.provider](self, request, service)

    def _redirect_to_consent(self, request: HttpRequest, service: ConferencingService) -> HttpResponse:
        """Teams and Webex: the provider's own consent page, then back to a callback here."""
        state = signing.dumps({"service": service.pk, "user": request.user.pk}, salt=CALLBACK_SALT)
        return HttpResponseRedirect(CONSENT_URLS[service.provider](state))

    def _authorize_with_form(self, request: HttpRequest, service: ConferencingService) -> HttpResponse:
        """Zoom and Meet: the admin gives the grant here (app credentials, a key file), then a test meeting."""
        form_class, authorize = FORM_FLOWS[service.provider]
        form = form_class(
            request.POST or None, request.FILES or None, initial={"test_user": acting_user(request).email}
        )
        if request.method == "POST" and form.is_valid():
            try:
                authorize(service=service, data=form.cleaned_data, actor=acting_user(request))
                service.refresh_from_db()
                conferencing_service_verify(
                    service=service, test_user=form.cleaned_data["test_user"], actor=acting_user(request)
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return self._live(request, service)
        return self._page(
            request,
            service,
            f"authorize_{service.provider}.html",
            {"title": f"Connect {service.get_provider_display()}", "form": form},
        )

    def verify_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        service = self._changeable(request, object_id)
        form = VerifyForm(request.POST or None, initial={"test_user": acting_user(request).email})
        if request.method == "POST" and form.is_valid():
            try:
                conferencing_service_verify(
                    service=service, test_user=form.cleaned_data["test_user"], actor=acting_user(request)
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return self._live(request, service)
        notes = VERIFY_NOTES.get(service.provider, "")
        return self._page(
            request,
            service,
            "verify.html",
            {"title": "Check with a test meeting", "form": form, "provider_notes": notes},
        )

    def _callback_service(self, request: HttpRequest) -> ConferencingService:
        try:
            state = signing.loads(request.GET.get("state", ""), salt=CALLBACK_SALT, max_age=3600)
        except signing.BadSignature:
            raise PermissionDenied from None
        if state.get("user") != request.user.pk:
            raise PermissionDenied
        return self._changeable(request, str(state["service"]))

    def microsoft_callback_view(self, request: HttpRequest) -> HttpResponse:
        service = self._callback_service(request)
        if request.GET.get("error") or not request.GET.get("tenant"):
            self.message_user(
                request,
                "Teams was not connected: the administrator did not consent "
                f"({request.GET.get('error', 'no tenant')}).",
                messages.ERROR,
            )
            return HttpResponseRedirect(self._change_url(service))
        try:
            conferencing_service_authorize_teams(
                service=service, tenant_id=request.GET["tenant"], actor=acting_user(request)
            )
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(self._change_url(service))
        self.message_user(
            request,
            "Admin consent verified. Now check the Teams application access policy with a test meeting.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:conferencing_conferencingservice_verify", args=[service.pk]))

    def webex_callback_view(self, request: HttpRequest) -> HttpResponse:
        service = self._callback_service(request)
        if request.GET.get("error") or not request.GET.get("code"):
            self.message_user(
                request,
                "Webex was not connected: "
                + (request.GET.get("error_description") or request.GET.get("error") or "no authorization code."),
                messages.ERROR,
            )
            return HttpResponseRedirect(self._change_url(service))
        try:
            credentials = webex.exchange_code(
                code=request.GET["code"],
                redirect_uri=settings.SITE_URL + reverse("admin:conferencing_webex_callback"),
                scopes=required_scopes(service.provider),
                for_organization=True,
            )
            organization_id = WebexClient(credentials).organization_id()
            conferencing_service_authorize_webex(
                service=service, credentials=credentials, organization_id=organization_id, actor=acting_user(request)
            )
        except (ValidationError, ProviderError) as error:
            text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
            self.message_user(request, f"Webex was not connected: {text}", messages.ERROR)
            return HttpResponseRedirect(self._change_url(service))
        self.message_user(request, "Webex authorized. Now check it with a test meeting.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:conferencing_conferencingservice_verify", args=[service.pk]))


@admin.register(ConferencingProfile)
class ConferencingProfileAdmin(PeopleScopedAdmin):
    """People's conferencing accounts: linked through a service, or their own (read-only here)."""

    list_display = ["profile_name", "user", "provider", "how", "status_badge_", "connected_at"]
    list_filter = ["provider", "status"]
    list_select_related = ["user", "service"]
    search_fields = ["profile_name", "user__email", "public_id"]
    readonly_fields = fields = (
        "public_id",
        "user",
        "provider",
        "how",
        "profile_name",
        "provider_user_id",
        "status_badge_",
        "granted_scopes",
        "last_error",
        "connected_at",
        "disconnected_at",
    )

    @admin.display(description="Linked")
    def how(self, obj: ConferencingProfile) -> str:
        return f"through {obj.service}" if obj.service_id else "by the person"

    @admin.display(description="Status")
    def status_badge_(self, obj: ConferencingProfile) -> SafeString:
        return status_badge(obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _authorize_zoom(*, service: ConferencingService, data: dict[str, Any], actor: Any) -> ConferencingService:
    return conferencing_service_authorize_zoom(
        service=service,
        account_id=data["account_id"],
        client_id=data["client_id"],
        client_secret=data["client_secret"],
        actor=actor,
    )


def _authorize_meet(*, service: ConferencingService, data: dict[str, Any], actor: Any) -> ConferencingService:
    return conferencing_service_authorize_meet(
        service=service, key=data["key_file"], test_user=data["test_user"], actor=actor
    )


def _teams_consent_url(state: str) -> str:
    query = urlencode(
        {
            "client_id": settings.MICROSOFT_TEAMS_CLIENT_ID,
            "scope": GRAPH_DEFAULT_SCOPE,
            "state": state,
            "redirect_uri": settings.SITE_URL + reverse("admin:conferencing_microsoft_callback"),
        }
    )
    return f"{endpoints.url('MICROSOFT_LOGIN_URL')}/organizations/v2.0/adminconsent?{query}"


def _webex_consent_url(state: str) -> str:
    return webex.authorize_url(
        redirect_uri=settings.SITE_URL + reverse("admin:conferencing_webex_callback"),
        scopes=required_scopes(ConferencingProvider.WEBEX),
        state=state,
    )


# How an admin authorizes each provider: a form here (Zoom's app credentials, Meet's key file), or the
# provider's own consent page (Teams' admin consent, a Webex administrator's authorization).
FORM_FLOWS: dict[str, tuple[type[forms.Form], Callable[..., ConferencingService]]] = {
    ConferencingProvider.ZOOM: (ZoomForm, _authorize_zoom),
    ConferencingProvider.GOOGLE_MEET: (MeetForm, _authorize_meet),
}
CONSENT_URLS: dict[str, Callable[[str], str]] = {
    ConferencingProvider.MS_TEAMS: _teams_consent_url,
    ConferencingProvider.WEBEX: _webex_consent_url,
}
# What the check page explains beyond the test meeting.
VERIFY_NOTES: dict[str, str] = {
    ConferencingProvider.MS_TEAMS: "admin/conferencing/conferencingservice/teams_policy.html"
}
AUTHORIZE_FLOWS: dict[str, Callable[..., HttpResponse]] = {
    ConferencingProvider.ZOOM: ConferencingServiceAdmin._authorize_with_form,
    ConferencingProvider.GOOGLE_MEET: ConferencingServiceAdmin._authorize_with_form,
    ConferencingProvider.MS_TEAMS: ConferencingServiceAdmin._redirect_to_consent,
    ConferencingProvider.WEBEX: ConferencingServiceAdmin._redirect_to_consent,
}
