"""Calendar services and profiles in the IT-admin console."""

from __future__ import annotations

import json
import zoneinfo
from typing import TYPE_CHECKING, Any, ClassVar, cast
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.console import (
    ConnectionAdmin,
    ConnectionSummaryInline,
    OrganizationScopedAdmin,
    PeopleScopedAdmin,
    access_mode_badge,
    administered_ids,
    badge,
    data_shared_panel,
    organization_page_add_connections,
    person_page_add_panel,
    status_badge,
)
from accounts.models import Organization, User
from accounts.selectors import people_wholly_administered
from calendars.managed_availability import (
    DAYS,
    availability_rule_upsert,
    available_period_upsert,
    parse_clock,
)
from calendars.mode_changes import calendar_service_mode_change_impact
from calendars.models import AvailabilityRule, AvailablePeriod, Calendar, CalendarProfile, CalendarService
from calendars.providers import endpoints, microsoft_app, provider_traits
from calendars.providers.base import ProviderError
from calendars.providers.microsoft import GRAPH_DEFAULT_SCOPE
from calendars.selectors import (
    calendar_service_sync_state,
    calendars_of_user,
    own_connections_of,
    people_served_by,
)
from calendars.services import (
    calendar_domain_check_dns,
    calendar_domains_check_free,
    calendar_profile_disconnect,
    calendar_service_authorize_google,
    calendar_service_authorize_microsoft,
    calendar_service_change_mode,
    calendar_service_connect,
    calendar_service_disconnect,
    calendar_service_update,
    organization_required_scopes,
    profiles_sync_queue,
)
from core.choices import AccessMode
from core.domains import email_domain, parse_domain_list

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldOpts, _FieldsetSpec

CONSENT_STATE_SALT = "calendars.admin.microsoft-consent"


def _console_user(request: HttpRequest) -> User:
    """The staff member behind a console request: the admin site only lets signed-in staff reach these views."""
    return cast(User, request.user)


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
        super().clean()  # a ModelForm's clean() returns cleaned_data: read it where the stubs know its type
        cleaned = self.cleaned_data
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


class GoogleAuthorizationForm(forms.Form):
    key_file = forms.FileField(
        label="Service account key (JSON)",
        help_text="Stored encrypted. Delegate the scopes below to its client id in the Google "
        "Admin console (Security, API controls, Domain-wide delegation) first.",
    )
    test_user = forms.EmailField(
        help_text="An existing user of the Workspace in the service's domains, best an administrator "
        "(the Workspace's domains are read as them): the delegation is checked acting for them."
    )

    def __init__(self, *args: Any, service: CalendarService, admin_email: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service = service
        domains = service.domain_names
        # The console's admin is often not a user of the customer's Workspace (a partner, a platform
        # address): their address is offered only when it is one of the service's domains.
        if admin_email and email_domain(admin_email) in domains:
            self.initial.setdefault("test_user", admin_email)
        if domains:
            self.fields["test_user"].widget.attrs["placeholder"] = f"admin@{domains[0]}"

    def clean_key_file(self) -> dict[str, Any]:
        upload = self.cleaned_data["key_file"]
        if upload.size > 64 * 1024:
            raise ValidationError("A service account key file is a few kilobytes; this file is too large.")
        try:
            return json.loads(upload.read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ValidationError("The file is not JSON: download the key again from Google Cloud.") from None


class AccessModeChangeForm(forms.Form):
    """Two steps: the admin picks a mode and sees what the change would do, then confirms it."""

    access_mode = forms.ChoiceField(choices=AccessMode.choices, widget=forms.RadioSelect)
    confirm = forms.BooleanField(label="I understand what changes for the people of this service.", required=False)

    def __init__(self, *args: Any, service: CalendarService, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service = service
        self.fields["access_mode"].initial = service.access_mode

    def clean_access_mode(self) -> str:
        mode = self.cleaned_data["access_mode"]
        if mode == self.service.access_mode:
            raise ValidationError("The service is already in this mode.")
        return mode


class CalendarServiceInline(ConnectionSummaryInline):
    model = CalendarService
    fields: ClassVar[tuple[str, ...]] = (
        "domains_list",
        "provider",
        "mode",
        "status_badge",
        "connected_by",
        "last_synced_at",
    )
    readonly_fields = fields
    add_link_label = "Connect a calendar service"

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).prefetch_related("domain_claims").select_related("connected_by")

    def live_connections(self, organization: Organization) -> models.QuerySet:
        return super().live_connections(organization).prefetch_related("domain_claims")

    @admin.display(description="Domains")
    def domains_list(self, obj: CalendarService) -> str:
        return ", ".join(obj.domain_names)

    @admin.display(description="Access mode")
    def mode(self, obj: CalendarService) -> SafeString:
        return access_mode_badge(obj)


organization_page_add_connections(CalendarServiceInline)


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
        "authorization",
        "external_id",
        "granted_scopes",
        "last_synced_at",
        "sync_overview",
        "domain_proof",
    ]
    actions = [*ConnectionAdmin.actions, "sync_now"]
    settings_fieldset: ClassVar[tuple[str, _FieldOpts]] = (
        "Settings",
        {"fields": ["organization", "provider", "access_mode", "domains"]},
    )
    fieldsets: ClassVar[_FieldsetSpec] = [
        (
            "Status",
            {
                "fields": [
                    "mode",
                    "status_badge",
                    "authorization",
                    "last_error",
                    "connected_by",
                    "connected_at",
                    "last_synced_at",
                    "sync_overview",
                    "disconnected_at",
                    "public_id",
                    "external_id",
                ]
            },
        ),
        settings_fieldset,
        ("Domains proven", {"fields": ["domain_proof"]}),
        ("What data is shared", {"fields": ["data_shared"]}),
        ("Activity", {"fields": ["activity"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).prefetch_related("domain_claims")

    @admin.display(description="Domains")
    def domain_proof(self, obj: CalendarService) -> SafeString:
        """Each claimed domain and its proof; a claim serves people only once proven."""
        rows = []
        for claim in obj.domain_claims.all():
            if claim.is_proven:
                state = badge(f"Proven ({claim.get_proof_display()})", "ok")
                how = ""
            else:
                state = badge("Not proven", "waiting")
                how = format_html(
                    "Authorize the service at its provider (if the provider lists the domain it is proven), or "
                    "publish a TXT record on <code>{}</code>: <code class='dns-value'>{}</code>",
                    claim.domain,
                    claim.dns_record,
                )
            rows.append((claim.domain, state, how))
        table = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        button = ""
        if obj.is_live and any(not claim.is_proven for claim in obj.domain_claims.all()):
            url = reverse("admin:calendars_calendarservice_check_domains", args=[obj.pk])
            button = format_html(
                '<form method="post" action="{}"><input type="hidden" name="csrfmiddlewaretoken" value="{}">'
                '<button type="submit" class="button">Check DNS records now</button></form>',
                url,
                self._csrf_token,
            )
        return format_html("<table class='dns-records'><tbody>{}</tbody></table>{}", table, button)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        self._csrf_token = get_token(request)
        return super().change_view(request, object_id, form_url, extra_context)

    def check_domains_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        service = self._changeable(request, object_id)
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:calendars_calendarservice_change", args=[service.pk]))
        for claim in service.domain_claims.filter(released_at__isnull=True, proven_at__isnull=True):
            try:
                calendar_domain_check_dns(claim=claim, actor=_console_user(request))
            except ValidationError as refusal:
                self.message_user(request, " ".join(refusal.messages), messages.WARNING)
            else:
                self.message_user(request, f"{claim.domain} is proven.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:calendars_calendarservice_change", args=[service.pk]))

    @admin.display(description="Sync")
    def sync_overview(self, obj: CalendarService) -> str:
        state = calendar_service_sync_state(service=obj)
        if not state["profiles"]:
            return "No profiles yet."
        parts = [f"{state['profiles']} profile(s), {state['calendars']} calendar(s)"]
        if state["oldest_sync"]:
            parts.append(f"all synced since {state['oldest_sync']:%Y-%m-%d %H:%M} UTC")
        if state["never_synced"]:
            parts.append(f"{state['never_synced']} calendar(s) not synced yet")
        if state["errors"]:
            parts.append(f"{state['errors']} calendar(s) with sync errors")
        if state["relink"]:
            parts.append(f"{state['relink']} profile(s) waiting for authorization")
        if state["next_renewal"]:
            parts.append(f"push subscriptions renew before {state['next_renewal']:%Y-%m-%d %H:%M} UTC")
        return "; ".join(parts) + "."

    @admin.action(description="Sync now (every profile of the selected services)")
    def sync_now(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        profiles = CalendarProfile.objects.filter(calendar_service__in=queryset)
        queued = profiles_sync_queue(profiles=profiles, full=True)
        self.message_user(request, f"Queued a sync of {queued} profile(s).")

    def get_fieldsets(self, request: HttpRequest, obj: CalendarService | None = None) -> _FieldsetSpec:
        return self.fieldsets if obj is not None else [self.settings_fieldset]

    def get_readonly_fields(self, request: HttpRequest, obj: CalendarService | None = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # A service's organization and provider never change: connect a new service instead. Its
            # mode changes on a page of its own, which says what the change means.
            readonly += ["organization", "provider", "access_mode"]
        return readonly

    def get_form(
        self, request: HttpRequest, obj: CalendarService | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        form = super().get_form(request, obj, change=change, **kwargs)
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
            connected_by=_console_user(request),
        )

    def update_with_service(self, request: HttpRequest, obj: models.Model, form: forms.ModelForm) -> CalendarService:
        if not isinstance(obj, CalendarService):  # this admin only ever edits calendar services
            raise TypeError(f"expected a CalendarService, got {type(obj).__name__}")
        if not obj.is_live:
            return obj
        return calendar_service_update(service=obj, actor=_console_user(request), domains=form.cleaned_data["domains"])

    def disconnect(self, request: HttpRequest, obj: CalendarService) -> None:
        calendar_service_disconnect(service=obj, actor=_console_user(request))

    #
    # Authorizing the service at its provider, and switching its mode: pages of their own
    #

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path("microsoft-callback/", wrap(self.microsoft_callback_view), name="calendars_microsoft_callback"),
            path(
                "<path:object_id>/authorize-google/",
                wrap(self.authorize_google_view),
                name="calendars_calendarservice_authorize_google",
            ),
            path(
                "<path:object_id>/authorize-microsoft/",
                wrap(self.authorize_microsoft_view),
                name="calendars_calendarservice_authorize_microsoft",
            ),
            path(
                "<path:object_id>/access-mode/",
                wrap(self.access_mode_view),
                name="calendars_calendarservice_access_mode",
            ),
            path(
                "<path:object_id>/check-domains/",
                wrap(self.check_domains_view),
                name="calendars_calendarservice_check_domains",
            ),
            *super().get_urls(),
        ]

    def _changeable(self, request: HttpRequest, object_id: str) -> CalendarService:
        service = self.get_object(request, object_id)  # 404 outside the caller's organizations
        if not self.has_change_permission(request, service) or not service.is_live:
            raise PermissionDenied
        return service

    def _page(self, request: HttpRequest, service: CalendarService, template: str, context: dict) -> HttpResponse:
        return TemplateResponse(
            request,
            f"admin/calendars/calendarservice/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": service,
                "service": service,
                "title": context.pop("title"),
                **context,
            },
        )

    def authorize_google_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        service = self._changeable(request, object_id)
        form = GoogleAuthorizationForm(
            request.POST or None, request.FILES or None, service=service, admin_email=_console_user(request).email
        )
        if request.method == "POST" and form.is_valid():
            try:
                calendar_service_authorize_google(
                    service=service,
                    key=form.cleaned_data["key_file"],
                    test_subject=form.cleaned_data["test_user"],
                    actor=_console_user(request),
                )
            except ValidationError as error:
                form.add_error(None, error)
            except ProviderError:
                form.add_error(None, "Google could not be reached to check the delegation; try again shortly.")
            else:
                self.message_user(
                    request, "Domain-wide delegation verified: the service is connected.", messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:calendars_calendarservice_change", args=[service.pk]))
        return self._page(
            request,
            service,
            "authorize_google.html",
            {
                "title": "Connect Google Workspace",
                "form": form,
                "scopes": organization_required_scopes(service),
                # Google's own consoles (the sandbox's stand-ins in the demo).
                "cloud_console_url": endpoints.url("GOOGLE_CLOUD_SERVICE_ACCOUNTS_URL"),
                "admin_console_url": endpoints.url("GOOGLE_ADMIN_DELEGATION_URL"),
            },
        )

    def authorize_microsoft_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        service = self._changeable(request, object_id)
        client_id, _ = microsoft_app(service.access_mode)
        state = signing.dumps({"service": service.pk, "user": request.user.pk}, salt=CONSENT_STATE_SALT)
        query = urlencode(
            {
                "client_id": client_id,
                "scope": GRAPH_DEFAULT_SCOPE,
                "state": state,
                # Microsoft matches the registered redirect URI exactly: the canonical address, not
                # whichever host name this request came in on.
                "redirect_uri": settings.SITE_URL + reverse("admin:calendars_microsoft_callback"),
            }
        )
        return HttpResponseRedirect(f"{endpoints.url('MICROSOFT_LOGIN_URL')}/organizations/v2.0/adminconsent?{query}")

    def microsoft_callback_view(self, request: HttpRequest) -> HttpResponse:
        try:
            state = signing.loads(request.GET.get("state", ""), salt=CONSENT_STATE_SALT, max_age=3600)
        except signing.BadSignature:
            raise PermissionDenied from None
        if state.get("user") != request.user.pk:
            raise PermissionDenied
        service = self._changeable(request, str(state["service"]))
        change_url = reverse("admin:calendars_calendarservice_change", args=[service.pk])
        if request.GET.get("error") or not request.GET.get("tenant"):
            self.message_user(
                request,
                "Microsoft 365 was not connected: the administrator did not consent "
                f"({request.GET.get('error', 'no tenant')}).",
                messages.ERROR,
            )
            return HttpResponseRedirect(change_url)
        try:
            calendar_service_authorize_microsoft(
                service=service, tenant_id=request.GET["tenant"], actor=_console_user(request)
            )
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        except ProviderError as error:
            self.message_user(request, f"Microsoft refused the connection: {error}", messages.ERROR)
        else:
            self.message_user(request, "Admin consent verified: the service is connected.", messages.SUCCESS)
        return HttpResponseRedirect(change_url)

    def access_mode_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        service = self._changeable(request, object_id)
        form = AccessModeChangeForm(request.POST or None, service=service)
        impact = None
        if request.method == "POST" and form.is_valid():
            if form.cleaned_data["confirm"]:
                service, impact = calendar_service_change_mode(
                    service=service, access_mode=form.cleaned_data["access_mode"], actor=_console_user(request)
                )
                self.message_user(request, f"The service is now {service.get_access_mode_display()}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:calendars_calendarservice_change", args=[service.pk]))
            # First the preview: what confirming would do, worked out from the data as it is now.
            impact = calendar_service_mode_change_impact(service=service, access_mode=form.cleaned_data["access_mode"])
        return self._page(
            request,
            service,
            "access_mode.html",
            {
                "title": "Change the access mode",
                "form": form,
                "impact": impact,
                "profiles": service.profiles.exclude(status="disconnected").count(),
            },
        )

    @admin.display(description="Provider authorization")
    def authorization(self, obj: CalendarService) -> SafeString:
        if not obj.is_live:
            return SafeString("")
        links = []
        if obj.policy.needs_provider_authorization:
            traits = provider_traits(obj.provider)
            links.append(
                (
                    # One authorization page per provider, named after it (get_urls above).
                    reverse(f"admin:calendars_calendarservice_authorize_{obj.provider}", args=[obj.pk]),
                    traits.authorize_label if obj.status != "active" else traits.reauthorize_label,
                )
            )
        links.append((reverse("admin:calendars_calendarservice_access_mode", args=[obj.pk]), "Change access mode"))
        return format_html_join(" ", '<a class="button" href="{}">{}</a>', links)


class CalendarInline(admin.TabularInline):
    model = Calendar
    fields: ClassVar[tuple[str, ...]] = (
        "name",
        "public_id",
        "is_primary",
        "is_readonly",
        "is_deleted",
        "full_synced_at",
        "synced_at",
        "push_subscription",
        "sync_error",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).prefetch_related("watches")

    @admin.display(description="Push subscription")
    def push_subscription(self, obj: Calendar) -> str:
        live = [w for w in obj.watches.all() if w.stopped_at is None]
        if not live:
            return "none (polled)" if not obj.is_hosted else "—"
        return f"renews before {min(w.expires_at for w in live):%Y-%m-%d %H:%M} UTC"

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
        "problem",
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
    actions = ["sync_now", "disconnect_selected"]
    inlines = [CalendarInline]
    fields: ClassVar[tuple[str, ...]] = (
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
        "mailbox_subscription",
        "last_error",
        "data_shared",
    )
    readonly_fields = fields

    @admin.display(description="Mailbox push subscription")
    def mailbox_subscription(self, obj: CalendarProfile) -> str:
        """Microsoft subscribes per mailbox; Google's per-calendar channels show with the calendars."""
        live = obj.watches.filter(stopped_at__isnull=True, calendar__isnull=True).order_by("expires_at").first()
        return f"renews before {live.expires_at:%Y-%m-%d %H:%M} UTC" if live else "—"

    @admin.action(description="Sync now (a full sync of each calendar)")
    def sync_now(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        queued = profiles_sync_queue(profiles=queryset, full=True)
        self.message_user(request, f"Queued a sync of {queued} profile(s).")

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

    @admin.display(description="Provider")
    def problem(self, obj: CalendarProfile) -> SafeString:
        """What the provider last said when it failed (throttled, down, grant refused), until a sync succeeds."""
        if not obj.last_error:
            return SafeString("")
        return format_html('<span title="{}">{}</span>', obj.last_error, badge("Needs attention", "alert"))

    @admin.display(description="What data is shared")
    def data_shared(self, obj: CalendarProfile) -> SafeString:
        return data_shared_panel(obj)

    @admin.action(description="Disconnect selected profiles (credentials are forgotten)")
    def disconnect_selected(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        for profile in queryset:
            calendar_profile_disconnect(profile=profile, actor=_console_user(request))
        self.message_user(request, f"Disconnected {queryset.count()} profile(s).")


#
# Managed availability, per person
#


def people_in_scope(request: HttpRequest) -> models.QuerySet:
    """Whose availability an admin manages: people served by their organizations' calendar services,
    and people wholly theirs. Sharing one organization with someone else's person is not enough."""
    ids = administered_ids(request)
    return User.objects.filter(
        Q(pk__in=people_served_by(organization_ids=ids)) | Q(pk__in=people_wholly_administered(organization_ids=ids))
    )


class UserScopedAdmin(PeopleScopedAdmin):
    """A person's own settings, which the admins of the organizations serving them may edit."""

    list_select_related = ["user"]

    has_change_permission = PeopleScopedAdmin.has_view_permission
    has_add_permission = PeopleScopedAdmin.has_module_permission
    has_delete_permission = PeopleScopedAdmin.has_view_permission

    def scope(self, request: HttpRequest) -> Q:
        return Q(user__in=people_in_scope(request))

    def formfield_for_foreignkey(self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user" and not request.user.is_superuser:
            kwargs["queryset"] = people_in_scope(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class AvailabilityRuleForm(forms.ModelForm):
    weekly_hours = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 7, "cols": 40}),
        help_text="One span per line, as “monday 09:00-17:00”. Several lines per day make breaks.",
    )

    class Meta:
        model = AvailabilityRule
        fields = ["user", "rule_id", "tzid", "calendar_ids"]
        widgets = {"calendar_ids": forms.HiddenInput()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["calendar_ids"].required = False
        if self.instance.pk:
            self.initial["weekly_hours"] = "\n".join(
                f"{p['day']} {p['start_time']}-{p['end_time']}" for p in self.instance.weekly_periods
            )

    def clean_tzid(self) -> str:
        tzid = self.cleaned_data["tzid"]
        try:
            zoneinfo.ZoneInfo(tzid)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"“{tzid}” is not a time zone id (for example Europe/London).") from None
        return tzid

    def clean(self) -> dict[str, Any]:
        super().clean()  # a ModelForm's clean() returns cleaned_data: read it where the stubs know its type
        cleaned = self.cleaned_data
        user, calendar_ids = cleaned.get("user"), cleaned.get("calendar_ids") or []
        if calendar_ids and user is None:
            self.add_error("calendar_ids", "Calendars count only against the hours of a person chosen above.")
        elif calendar_ids and user is not None:
            if not isinstance(calendar_ids, list) or not all(isinstance(c, str) for c in calendar_ids):
                self.add_error("calendar_ids", "A list of calendar ids.")
            else:
                theirs = set(
                    calendars_of_user(user_id=user.pk, calendar_ids=calendar_ids).values_list("public_id", flat=True)
                )
                if set(calendar_ids) - theirs:
                    self.add_error("calendar_ids", "Only the person's own calendars can count against their hours.")
        return cleaned

    def clean_weekly_hours(self) -> list[dict[str, str]]:
        periods = []
        for number, line in enumerate(self.cleaned_data["weekly_hours"].splitlines(), start=1):
            if not line.strip():
                continue
            day, _, hours = line.strip().lower().partition(" ")
            start, _, end = hours.strip().partition("-")
            try:
                if day not in DAYS or parse_clock(start.strip()) >= parse_clock(end.strip()):
                    raise ValueError(line)
            except ValueError:
                raise ValidationError(f"Line {number} should read like “monday 09:00-17:00”: {line.strip()}") from None
            periods.append({"day": day, "start_time": start.strip(), "end_time": end.strip()})
        return periods


@admin.register(AvailabilityRule)
class AvailabilityRuleAdmin(UserScopedAdmin):
    form = AvailabilityRuleForm
    list_display = ["rule_id", "user", "tzid", "hours", "updated_at"]
    search_fields = ["rule_id", "user__email"]

    @admin.display(description="Weekly hours")
    def hours(self, obj: AvailabilityRule) -> str:
        return ", ".join(f"{p['day'][:3]} {p['start_time']}-{p['end_time']}" for p in obj.weekly_periods)

    def save_model(self, request: HttpRequest, obj: AvailabilityRule, form: forms.ModelForm, change: bool) -> None:
        saved = availability_rule_upsert(
            user=form.cleaned_data["user"],
            rule_id=form.cleaned_data["rule_id"],
            tzid=form.cleaned_data["tzid"],
            calendar_ids=form.cleaned_data.get("calendar_ids") or [],
            weekly_periods=form.cleaned_data["weekly_hours"],
        )
        obj.pk = saved.pk


@admin.register(AvailablePeriod)
class AvailablePeriodAdmin(UserScopedAdmin):
    list_display = ["period_id", "user", "start", "end"]
    fields = ["user", "period_id", "start", "end"]
    search_fields = ["period_id", "user__email"]

    def save_model(self, request: HttpRequest, obj: AvailablePeriod, form: forms.ModelForm, change: bool) -> None:
        saved = available_period_upsert(user=obj.user, period_id=obj.period_id, start=obj.start, end=obj.end)
        obj.pk = saved.pk


#
# On a person's page: the calendars they connected themselves, through integrators
#


def own_connections_panel(request: HttpRequest, person: User) -> SafeString:
    """Which applications reach the person's own calendar connections, in which mode and since when,
    against the mode their organization allows: for the admins who manage the person's availability
    (people their services serve, or people wholly theirs), as every console page is scoped."""
    if not request.user.is_superuser and not people_in_scope(request).filter(pk=person.pk).exists():
        return SafeString("")
    return render_to_string(
        "admin/calendars/own_connections.html", {"connections": own_connections_of(user=person)}, request=request
    )


person_page_add_panel(own_connections_panel)
