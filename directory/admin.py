"""Directory services in the IT-admin console: connect and verify each provider, preview and run rounds,
confirm an offboarding that stopped at the threshold, map units, set the offboarding policy; the
rounds, people and rooms each directory reports."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, ClassVar, cast
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django_q.tasks import async_task

from accounts.console import (
    ConnectionSummaryInline,
    OrganizationScopedAdmin,
    ProviderConnectionAdmin,
    administered_ids,
    organization_page_add_connections,
    status_badge,
)
from accounts.models import Organization, User
from accounts.selectors import organization_tree_ids, users_of_organizations
from calendars.providers import endpoints
from calendars.providers.base import ProviderError
from calendars.providers.microsoft import GRAPH_DEFAULT_SCOPE
from directory.clients import directory_scopes
from directory.models import (
    DirectoryProvider,
    DirectoryResource,
    DirectoryRound,
    DirectoryService,
    DirectoryUnitMapping,
    DirectoryUser,
    RoundStatus,
)
from directory.rounds import directory_round_confirm
from directory.services import (
    directory_service_authorize_google,
    directory_service_authorize_microsoft,
    directory_service_authorize_successfactors,
    directory_service_connect,
    directory_service_disconnect,
    directory_service_is_authorized,
    directory_service_set_policy,
    directory_service_update,
    directory_unit_mapping_set,
)

CONSENT_STATE_SALT = "directory.admin.microsoft-consent"


def _console_user(request: HttpRequest) -> User:
    """The staff member behind a console request: the admin site only lets signed-in staff reach these views."""
    return cast(User, request.user)


POLICY_FIELDS = ("offboarding_policy", "handover_to", "offboarding_threshold", "default_unit", "round_interval")


class DirectoryServiceInline(ConnectionSummaryInline):
    model = DirectoryService
    fk_name = "organization"
    fields: ClassVar[tuple[str, ...]] = ("provider", "status_badge", "connected_by", "last_synced_at")
    readonly_fields = fields
    add_link_label = "Connect a directory service"


organization_page_add_connections(DirectoryServiceInline)


class GoogleDirectoryForm(forms.Form):
    key_file = forms.FileField(
        label="Service account key (JSON)",
        help_text="Stored encrypted. In the Google Admin console (Security, API controls, Domain-wide delegation), "
        "give its client id the scopes listed above first.",
    )
    admin_email = forms.EmailField(
        label="Acts as", help_text="An administrator of the Workspace: the Directory API answers only to one."
    )

    def clean_key_file(self) -> dict[str, Any]:
        upload = self.cleaned_data["key_file"]
        if upload.size > 64 * 1024:
            raise ValidationError("A service account key file is a few kilobytes; this file is too large.")
        try:
            return json.loads(upload.read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ValidationError("The file is not JSON: download the key again from Google Cloud.") from None


class SuccessFactorsForm(forms.Form):
    api_url = forms.URLField(
        assume_scheme="https",
        label="API server",
        help_text="Your data center's, e.g. https://api4.successfactors.com (SAP note 2215682).",
    )
    company_id = forms.CharField(max_length=100, label="Company ID")
    client_id = forms.CharField(max_length=200, label="API key", help_text="Of the OAuth client application.")
    user_id = forms.CharField(
        max_length=100, label="API user", help_text="The user the assertion names; its role must read User."
    )
    private_key = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "cols": 70}), help_text="PEM. Stored encrypted; it never leaves here."
    )
    certificate = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "cols": 70}),
        help_text="PEM: the X.509 certificate registered in the OAuth client application.",
    )


class DirectoryServiceForm(forms.ModelForm):
    class Meta:
        model = DirectoryService
        fields = ["organization", "provider", "external_id", *POLICY_FIELDS]
        help_texts = {"round_interval": "How often the directory is read, e.g. 01:00:00 for every hour."}


class DirectoryUnitMappingInline(admin.TabularInline):
    model = DirectoryUnitMapping
    extra = 1
    fields = ["source", "organization"]
    verbose_name = "unit mapping"
    verbose_name_plural = "Unit mapping (people of a unit or department go to an Organizational Unit here)"

    def _service_in_scope(self, request: HttpRequest, obj: DirectoryService | None) -> bool:
        if request.user.is_superuser:
            return True
        ids = administered_ids(request)
        return bool(ids) and (obj is None or obj.organization_id in ids)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._service_in_scope(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._service_in_scope(request, obj) and (obj is None or obj.is_live)

    has_add_permission = has_change_permission
    has_delete_permission = has_change_permission

    def formfield_for_foreignkey(self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any) -> Any:
        # A mapping sends people to a unit of the directory's own organization, nowhere else.
        if db_field.related_model is Organization:
            service_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            service = DirectoryService.objects.filter(pk=service_id).first() if service_id else None
            allowed = organization_tree_ids(organization=service.organization) if service else frozenset()
            if not request.user.is_superuser:
                allowed = allowed & administered_ids(request)
            kwargs["queryset"] = Organization.objects.filter(pk__in=allowed)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(DirectoryService)
class DirectoryServiceAdmin(ProviderConnectionAdmin):
    form = DirectoryServiceForm
    connect_service = staticmethod(directory_service_connect)
    update_service = staticmethod(directory_service_update)
    disconnect_service = staticmethod(directory_service_disconnect)
    inlines = [DirectoryUnitMappingInline]
    list_display = [*ProviderConnectionAdmin.list_display, "last_round", "last_synced_at"]
    readonly_fields = [
        *ProviderConnectionAdmin.readonly_fields,
        "last_synced_at",
        "authorization",
        "acting_user",
        "api_url",
        "proven_domains",
        "rounds_panel",
    ]
    fieldsets = [
        (
            "Status",
            {
                "fields": [
                    "status_badge",
                    "authorization",
                    "rounds_panel",
                    "last_error",
                    "last_synced_at",
                    "connected_by",
                    "connected_at",
                    "disconnected_at",
                    "public_id",
                ]
            },
        ),
        (
            "Settings",
            {"fields": ["organization", "provider", "external_id", "acting_user", "api_url", "proven_domains"]},
        ),
        ("Offboarding", {"fields": POLICY_FIELDS}),
        ("What data is shared", {"fields": ["data_shared"]}),
        ("Activity", {"fields": ["activity"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).prefetch_related("rounds")

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list:
        return super().get_inline_instances(request, obj) if obj is not None else []

    def formfield_for_foreignkey(self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "handover_to" and not request.user.is_superuser:
            kwargs["queryset"] = users_of_organizations(organization_ids=administered_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def update_with_service(self, request: HttpRequest, obj: Any, form: forms.ModelForm) -> models.Model:
        data = form.cleaned_data
        if not obj.is_live:
            return obj
        with transaction.atomic():
            if "external_id" in data:
                directory_service_update(service=obj, actor=_console_user(request), external_id=data["external_id"])
            return directory_service_set_policy(
                service=obj,
                actor=_console_user(request),
                offboarding_policy=data["offboarding_policy"],
                handover_to=data.get("handover_to"),
                offboarding_threshold=data["offboarding_threshold"],
                default_unit=data.get("default_unit"),
                round_interval=data["round_interval"] or timedelta(hours=1),
            )

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        """Unit mappings go through the service, which checks the unit belongs to the organization."""
        service = form.instance
        # Django's change message reads these after the save.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for mapping_form in formset.forms:
            data = getattr(mapping_form, "cleaned_data", None) or {}
            if not data or not mapping_form.has_changed():
                continue
            if data.get("DELETE"):
                if mapping_form.instance.pk:
                    formset.deleted_objects.append(mapping_form.instance)
                    mapping_form.instance.delete()
                continue
            if mapping_form.instance.pk and mapping_form.instance.source != data["source"]:
                DirectoryUnitMapping.objects.filter(pk=mapping_form.instance.pk).delete()
            mapping = directory_unit_mapping_set(
                service=service, source=data["source"], organization=data["organization"], actor=_console_user(request)
            )
            formset.new_objects.append(mapping)

    @admin.display(description="Last round")
    def last_round(self, obj: DirectoryService) -> str:
        latest = next(iter(obj.rounds.all()), None)
        return f"{latest.get_status_display()}: {latest.summary()}" if latest else "—"

    @admin.display(description="Proven domains (reported by the provider)")
    def proven_domains(self, obj: DirectoryService) -> str:
        return ", ".join(obj.provider_domains) or "—"

    @admin.display(description="Rounds")
    def rounds_panel(self, obj: DirectoryService) -> SafeString:
        if obj is None or obj.pk is None:
            return SafeString("")
        return render_to_string(
            "admin/directory/directoryservice/rounds_panel.html",
            {
                "rounds": obj.rounds.all()[:5],
                "service": obj,
                "rounds_url": reverse("admin:directory_directoryservice_rounds", args=[obj.pk]),
                "authorized": directory_service_is_authorized(obj),
            },
        )

    @admin.display(description="Provider authorization")
    def authorization(self, obj: DirectoryService) -> SafeString:
        if obj is None or not obj.is_live:
            return SafeString("")
        again = obj.status == "active"
        # Keyed by the provider's stored value (a DirectoryProvider member is that string).
        authorization_pages: dict[str, tuple[str, str]] = {
            DirectoryProvider.GOOGLE: (
                "Replace the key" if again else "Upload the service account key",
                "authorize_google",
            ),
            DirectoryProvider.MICROSOFT: (
                "Grant admin consent again" if again else "Grant admin consent in Microsoft 365",
                "authorize_microsoft",
            ),
            DirectoryProvider.SUCCESSFACTORS: (
                "Change the OAuth client" if again else "Connect SuccessFactors",
                "authorize_successfactors",
            ),
        }
        label, url_name = authorization_pages[obj.provider]
        links = [(reverse(f"admin:directory_directoryservice_{url_name}", args=[obj.pk]), label)]
        return format_html_join(" ", '<a class="button" href="{}">{}</a>', links)

    #
    # Pages of their own: authorizing at the provider, and rounds
    #

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        own = [
            path("microsoft-callback/", wrap(self.microsoft_callback_view), name="directory_microsoft_callback"),
            path("<path:object_id>/rounds/", wrap(self.rounds_view), name="directory_directoryservice_rounds"),
        ]
        for name in ("google", "microsoft", "successfactors"):
            own.append(
                path(
                    f"<path:object_id>/authorize-{name}/",
                    wrap(getattr(self, f"authorize_{name}_view")),
                    name=f"directory_directoryservice_authorize_{name}",
                )
            )
        return [*own, *super().get_urls()]

    def _changeable(self, request: HttpRequest, object_id: str, provider: str | None = None) -> DirectoryService:
        service = self.get_object(request, object_id)  # 404 outside the caller's organizations
        if not self.has_change_permission(request, service) or not service.is_live:
            raise PermissionDenied
        if provider is not None and service.provider != provider:
            raise PermissionDenied
        return service

    def _page(self, request: HttpRequest, service: DirectoryService, template: str, context: dict) -> HttpResponse:
        return TemplateResponse(
            request,
            f"admin/directory/directoryservice/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": service,
                "service": service,
                "title": context.pop("title"),
                **context,
            },
        )

    def _done(self, request: HttpRequest, service: DirectoryService, message: str) -> HttpResponseRedirect:
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:directory_directoryservice_rounds", args=[service.pk]))

    def authorize_google_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        service = self._changeable(request, object_id, DirectoryProvider.GOOGLE)
        form = GoogleDirectoryForm(
            request.POST or None,
            request.FILES or None,
            initial={"admin_email": service.acting_user or _console_user(request).email},
        )
        if request.method == "POST" and form.is_valid():
            try:
                directory_service_authorize_google(
                    service=service,
                    key=form.cleaned_data["key_file"],
                    admin_email=form.cleaned_data["admin_email"],
                    actor=_console_user(request),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return self._done(request, service, "Delegation verified: the directory is connected. Preview it next.")
        return self._page(
            request,
            service,
            "authorize_google.html",
            {"title": "Connect Google Workspace's directory", "form": form, "scopes": directory_scopes("google")},
        )

    def authorize_microsoft_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        service = self._changeable(request, object_id, DirectoryProvider.MICROSOFT)
        state = signing.dumps({"service": service.pk, "user": request.user.pk}, salt=CONSENT_STATE_SALT)
        query = urlencode(
            {
                "client_id": settings.MICROSOFT_DIRECTORY_CLIENT_ID,
                "scope": GRAPH_DEFAULT_SCOPE,
                "state": state,
                "redirect_uri": settings.SITE_URL + reverse("admin:directory_microsoft_callback"),
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
        service = self._changeable(request, str(state["service"]), DirectoryProvider.MICROSOFT)
        change_url = reverse("admin:directory_directoryservice_change", args=[service.pk])
        if request.GET.get("error") or not request.GET.get("tenant"):
            self.message_user(
                request,
                "Microsoft 365 was not connected: the administrator did not consent "
                f"({request.GET.get('error', 'no tenant')}).",
                messages.ERROR,
            )
            return HttpResponseRedirect(change_url)
        try:
            directory_service_authorize_microsoft(
                service=service, tenant_id=request.GET["tenant"], actor=_console_user(request)
            )
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(change_url)
        except ProviderError as error:
            self.message_user(request, f"Microsoft refused the connection: {error}", messages.ERROR)
            return HttpResponseRedirect(change_url)
        return self._done(request, service, "Admin consent verified: the directory is connected. Preview it next.")

    def authorize_successfactors_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        service = self._changeable(request, object_id, DirectoryProvider.SUCCESSFACTORS)
        form = SuccessFactorsForm(
            request.POST or None,
            initial={
                "api_url": service.api_url or endpoints.url("SUCCESSFACTORS_API_URL"),
                "company_id": service.external_id,
                "user_id": service.acting_user,
            },
        )
        if request.method == "POST" and form.is_valid():
            try:
                directory_service_authorize_successfactors(
                    service=service, actor=_console_user(request), **form.cleaned_data
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return self._done(
                    request, service, "SuccessFactors answered: the directory is connected. Preview it next."
                )
        return self._page(
            request, service, "authorize_successfactors.html", {"title": "Connect SAP SuccessFactors", "form": form}
        )

    def rounds_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The latest preview and rounds with names, and the buttons: preview, run, confirm an offboarding."""
        service = self.get_object(request, object_id)
        if not self.has_view_permission(request, service):
            raise PermissionDenied
        rounds = list(service.rounds.all()[:10])
        waiting = next((r for r in rounds[:1] if r.status == RoundStatus.WAITING and r.confirmed_by_id is None), None)
        if request.method == "POST":
            self._changeable(request, object_id)
            action = request.POST.get("action")
            if not directory_service_is_authorized(service):
                self.message_user(request, "Authorize the directory at its provider first.", messages.ERROR)
            elif action in ("preview", "run"):
                transaction.on_commit(
                    lambda: async_task(
                        "directory.tasks.directory_round_task",
                        service.pk,
                        action == "run" and "full" in request.POST,
                        action == "preview",
                        request.user.pk,
                    )
                )
                self.message_user(request, "Preview started." if action == "preview" else "Round started.")
            elif action == "confirm" and waiting is not None:
                try:
                    directory_round_confirm(round_=waiting, actor=_console_user(request))
                except ValidationError as error:
                    self.message_user(request, " ".join(error.messages), messages.ERROR)
                else:
                    allowed = waiting.counts.get("offboard", 0)
                    transaction.on_commit(
                        lambda: async_task(
                            "directory.tasks.directory_round_task", service.pk, False, False, request.user.pk, allowed
                        )
                    )
                    self.message_user(request, f"Confirmed: a round now offboards up to {allowed} people.")
            return HttpResponseRedirect(request.path)
        return self._page(
            request,
            service,
            "rounds.html",
            {
                "title": f"Rounds of {service}",
                "rounds": rounds,
                "waiting": waiting,
                "running": any(r.status == RoundStatus.RUNNING for r in rounds),
                "can_change": self.has_change_permission(request, service) and service.is_live,
                "authorized": directory_service_is_authorized(service),
                "kinds": [("onboard", "Onboard"), ("offboard", "Offboard"), ("move", "Move"), ("rename", "Rename")],
            },
        )


class ReadOnlyDirectoryAdmin(OrganizationScopedAdmin):
    """What directories reported: visible to the organization's admins, never edited by hand."""

    organization_path = "service__organization"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DirectoryRound)
class DirectoryRoundAdmin(ReadOnlyDirectoryAdmin):
    list_display = ["started_at", "service", "kind", "status", "summary", "people_read", "duration", "error_count"]
    list_filter = ["status", "dry_run", "full"]
    list_select_related = ["service__organization"]
    fields: ClassVar[tuple[str, ...]] = (
        "service",
        "status",
        "full",
        "dry_run",
        "started_at",
        "finished_at",
        "people_read",
        "people_applied",
        "counts",
        "changes",
        "errors",
        "requested_by",
        "confirmed_by",
        "offboarding_allowed",
    )
    readonly_fields = fields

    @admin.display(description="Kind")
    def kind(self, obj: DirectoryRound) -> str:
        return "preview" if obj.dry_run else "full" if obj.full else "incremental"

    @admin.display(description="Errors")
    def error_count(self, obj: DirectoryRound) -> int:
        return len(obj.errors)


@admin.register(DirectoryUser)
class DirectoryUserAdmin(ReadOnlyDirectoryAdmin):
    verbose_name_plural = "directory people"
    list_display = ["email", "name", "status", "unit", "placed_in", "user", "onboarded_at", "offboarded_at", "service"]
    list_filter = ["status", "service__provider"]
    list_select_related = ["service__organization", "placed_in", "user"]
    search_fields = ["email", "name", "external_id"]
    fields: ClassVar[tuple[str, ...]] = (
        "service",
        "external_id",
        "email",
        "name",
        "status",
        "unit",
        "manager_external_id",
        "user",
        "placed_in",
        "onboarded_at",
        "offboarded_at",
        "offboard_reason",
    )
    readonly_fields = fields


@admin.register(DirectoryResource)
class DirectoryResourceAdmin(ReadOnlyDirectoryAdmin):
    list_display = ["name", "email", "capacity", "building", "floor", "service", "removed_at"]
    list_select_related = ["service__organization"]
    search_fields = ["name", "email"]
    fields: ClassVar[tuple[str, ...]] = (
        "public_id",
        "service",
        "name",
        "email",
        "capacity",
        "building",
        "floor",
        "removed_at",
    )
    readonly_fields = fields


__all__ = ["DirectoryServiceAdmin", "DirectoryServiceInline", "status_badge"]
