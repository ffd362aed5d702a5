"""What every page of the IT-admin console shares: organization scoping, service-backed saves,
status badges and the "what data is shared" and activity panels.

Scoping rule: a superuser sees everything; anybody else sees only objects of the organizations they
administer (owner or admin there, or of a unit above). Objects outside that scope do not exist for
them: lists leave them out, direct URLs answer 404, and choice fields never offer them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.models import AuditEvent, Organization, User
from accounts.selectors import (
    people_wholly_administered,
    request_administered_organization_ids,
    users_of_organizations,
)

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldOpts


def administered_ids(request: HttpRequest) -> frozenset[int]:
    return request_administered_organization_ids(request)


def acting_user(request: HttpRequest) -> User:
    """The console caller, for services that record who acted. The admin site lets only signed-in
    staff in, so by the time a console hook runs `request.user` is a User, never AnonymousUser."""
    return cast(User, request.user)


_ModelT = TypeVar("_ModelT", bound=models.Model)


class OrganizationScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose objects belong to an organization reached through `organization_path`."""

    organization_path = "organization"

    def organization_id_of(self, obj: models.Model) -> int | None:
        target: Any = obj
        for part in self.organization_path.split("__"):
            target = getattr(target, part, None)
            if target is None:
                return None
        return target.pk if isinstance(target, Organization) else target

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.organization_path}__in": administered_ids(request)})

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        # Django redirects to the index with "doesn't exist" for missing objects; an object outside the
        # caller's organizations must look exactly like one that does not exist at all: a 404.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such object.")
        return obj

    def _in_scope(self, request: HttpRequest, obj: models.Model | None) -> bool:
        ids = administered_ids(request)
        if not ids:
            return False
        return obj is None or self.organization_id_of(obj) in ids

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or bool(administered_ids(request))

    def has_view_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return request.user.is_superuser or self._in_scope(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return request.user.is_superuser or self._in_scope(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or bool(administered_ids(request))

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        # Connections are disconnected, not deleted: their history must survive.
        return request.user.is_superuser

    def formfield_for_foreignkey(self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any) -> Any:
        if not request.user.is_superuser:
            if db_field.related_model is Organization:
                kwargs["queryset"] = Organization.objects.filter(pk__in=administered_ids(request))
            elif db_field.related_model is User:
                kwargs["queryset"] = users_of_organizations(organization_ids=administered_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # Services re-check their rules inside the transaction (a domain claimed by someone else a
        # moment ago, the last owner removed). Their refusal rolls everything back and is shown as a
        # message instead of a server error.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            for message in error.messages:
                self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class PeopleScopedAdmin(admin.ModelAdmin):
    """Objects that belong to a person (reached through `person_path`), such as their events or their
    availability. Sharing an organization with a person is not enough to see them: an admin sees what
    belongs to their organizations' services (the object's `service_organization_path` leads to that
    organization), and what belongs to no organization's service only of people wholly theirs (every
    organization the person is in is one the admin runs). Anything else looks like it does not exist.
    """

    person_path = "user"
    # A lookup from the object to the organization whose calendar service it belongs to (None where
    # it belongs to no service); subclasses name theirs.
    service_organization_path: str = ""

    def scope(self, request: HttpRequest) -> Q:
        ids = administered_ids(request)
        own_people = Q(**{f"{self.person_path}__in": people_wholly_administered(organization_ids=ids)})
        if not self.service_organization_path:
            return own_people
        return Q(**{f"{self.service_organization_path}__in": ids}) | (
            Q(**{f"{self.service_organization_path}__isnull": True}) & own_people
        )

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(self.scope(request)).distinct()

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such object.")
        return obj

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or bool(administered_ids(request))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)


class ServiceBackedAdmin(admin.ModelAdmin, Generic[_ModelT]):
    """Saves go through the app's service functions, never through `form.save()`.

    Django saves what `save_form` returns, so that is where the service runs; `save_model` has
    nothing left to do. Parametrised by the model, so a page's hooks take and return its own model.
    """

    def create_with_service(self, request: HttpRequest, form: ModelForm) -> _ModelT:
        raise NotImplementedError

    def update_with_service(self, request: HttpRequest, obj: _ModelT, form: ModelForm) -> _ModelT:
        raise NotImplementedError

    def save_form(self, request: HttpRequest, form: ModelForm, change: bool) -> models.Model:
        if change:
            # The form has already copied its data onto form.instance; services compare against what is
            # stored, so they get the stored row.
            stored = type(form.instance)._default_manager.get(pk=form.instance.pk)
            return self.update_with_service(request, stored, form)
        return self.create_with_service(request, form)

    def save_model(self, request: HttpRequest, obj: models.Model, form: ModelForm, change: bool) -> None:
        pass

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool) -> None:
        # No many-to-many fields go through these forms (form.save_m2m exists only after form.save).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


class ScopedInline(InlineModelAdmin):
    """An inline on an organization page, visible to whoever may see the organization."""

    def _parent_in_scope(self, request: HttpRequest, obj: models.Model | None) -> bool:
        if request.user.is_superuser:
            return True
        ids = administered_ids(request)
        return bool(ids) and (obj is None or obj.pk in ids)

    def has_view_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return self._parent_in_scope(request, obj)

    def formfield_for_foreignkey(self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any) -> Any:
        # The choices a page offers are also what a POST is validated against: an autocomplete that
        # hides other organizations' people is not enough when a forged row can name any id.
        if not request.user.is_superuser:
            if db_field.related_model is Organization:
                kwargs["queryset"] = Organization.objects.filter(pk__in=administered_ids(request))
            elif db_field.related_model is User:
                kwargs["queryset"] = users_of_organizations(organization_ids=administered_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ConnectionSummaryInline(ScopedInline, admin.TabularInline):
    """A read-only line per connection on the organization page, linking to the connection's page."""

    template = "admin/edit_inline/connection_summary.html"
    extra = 0
    show_change_link = True
    can_delete = False
    add_link_label = "Connect a service"

    def live_connections(self, organization: Organization) -> models.QuerySet:
        """The organization's connections of this kind that are not disconnected, for its overview."""
        return self.model._default_manager.filter(organization=organization).exclude(status="disconnected")

    def has_add_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    @admin.display(description="Status")
    def status_badge(self, obj: models.Model) -> SafeString:
        return status_badge(obj)


# The organization page lists each kind of connection. The apps that own a kind (calendars, directory,
# conferencing) sit above accounts, so they add their list here rather than accounts importing them.
_organization_page_connection_inlines: list[type[ConnectionSummaryInline]] = []


# Panels on a person's console page that higher apps own (their calendar connections): each takes the
# request and the person and returns HTML, or "" when it has nothing to show this admin.
PersonPanel = Callable[[HttpRequest, User], SafeString]
_person_page_panels: list[PersonPanel] = []


def person_page_add_panel(panel: PersonPanel) -> None:
    """Show this panel on every person's console page (called from the owning app's admin)."""
    if panel not in _person_page_panels:
        _person_page_panels.append(panel)


def person_page_panels(request: HttpRequest, person: User) -> list[SafeString]:
    return [html for html in (panel(request, person) for panel in _person_page_panels) if html]


def organization_page_add_connections(inline: type[ConnectionSummaryInline]) -> None:
    """Show this kind of connection on every organization page (called from the owning app's admin)."""
    if inline not in _organization_page_connection_inlines:
        _organization_page_connection_inlines.append(inline)


def organization_page_connection_inlines() -> list[type[ConnectionSummaryInline]]:
    return list(_organization_page_connection_inlines)


#
# Badges and panels
#


def badge(label: str, tone: str) -> SafeString:
    return format_html('<span class="badge badge-{}">{}</span>', tone, label)


STATUS_TONES = {
    "pending": "waiting",
    "active": "ok",
    "connected": "ok",
    "error": "alert",
    "relink_required": "alert",
    "disconnected": "off",
}
MODE_TONES = {"read_write": "read-write", "free_busy": "free-busy", "no_access": "no-access"}


def status_badge(obj: Any) -> SafeString:
    return badge(obj.get_status_display(), STATUS_TONES.get(obj.status, "off"))


def access_mode_badge(obj: Any) -> SafeString:
    return badge(obj.get_access_mode_display(), MODE_TONES.get(obj.access_mode, "off"))


def data_shared_context(connection: Any) -> dict[str, Any]:
    """Scopes requested (from the registry) against scopes granted, and what is stored."""
    granted = set(connection.granted_scopes or [])
    rows = [
        {"scope": row.scope, "meaning": row.meaning, "label": row.label, "granted": row.scope in granted}
        for row in connection.requested_scope_rows()
    ]
    requested = {row["scope"] for row in rows}
    extra = [{"scope": scope, "meaning": connection.scope_meaning(scope)} for scope in sorted(granted - requested)]
    return {
        "connection": connection,
        "rows": rows,
        "has_grant": bool(granted),
        "extra_granted": extra,
        "stored": connection.stored_data_summary(),
        "policy": getattr(connection, "policy", None),
    }


def data_shared_panel(connection: Any) -> SafeString:
    return render_to_string("admin/cronofy_site/data_shared_panel.html", data_shared_context(connection))


def activity_panel(obj: models.Model, *, limit: int = 20) -> SafeString:
    events = AuditEvent.objects.filter(
        target_type=ContentType.objects.get_for_model(obj), target_id=str(obj.pk)
    ).select_related("actor")[:limit]
    return render_to_string("admin/cronofy_site/activity_panel.html", {"events": events})


class ConnectionAdmin(OrganizationScopedAdmin, ServiceBackedAdmin):
    """The change page of an organization connection: status at a glance, data shared, activity."""

    actions = ["disconnect_selected"]
    list_select_related = ["organization", "connected_by"]
    search_fields = ["organization__name", "public_id"]
    readonly_fields = [
        "public_id",
        "status_badge",
        "connected_by",
        "connected_at",
        "disconnected_at",
        "last_error",
        "data_shared",
        "activity",
    ]

    def disconnect(self, request: HttpRequest, obj: Any) -> None:
        raise NotImplementedError

    @admin.action(description="Disconnect selected services (credentials are forgotten)")
    def disconnect_selected(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        count = 0
        for obj in queryset:
            if obj.is_live:
                self.disconnect(request, obj)
                count += 1
        self.message_user(request, f"Disconnected {count} service(s).", messages.SUCCESS)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not self.has_change_permission(request):
            actions.pop("disconnect_selected", None)
        return actions

    @admin.display(description="Status")
    def status_badge(self, obj: Any) -> SafeString:
        return status_badge(obj)

    @admin.display(description="What data is shared")
    def data_shared(self, obj: Any) -> SafeString:
        if obj is None or obj.pk is None:
            return SafeString("")
        return data_shared_panel(obj)

    @admin.display(description="Activity")
    def activity(self, obj: Any) -> SafeString:
        if obj is None or obj.pk is None:
            return SafeString("")
        return activity_panel(obj)


class ProviderConnectionAdmin(ConnectionAdmin):
    """Admin for a connection that is just an organization, a provider and the provider's tenant id
    (directory and conferencing services). Subclasses name their service functions."""

    connect_service: Any = None  # staticmethod(<app>_service_connect)
    update_service: Any = None
    disconnect_service: Any = None

    list_display = ["__str__", "organization", "provider", "status_badge", "connected_by", "connected_at"]
    list_filter = ["provider", "status", ("organization", admin.RelatedOnlyFieldListFilter)]
    readonly_fields = [*ConnectionAdmin.readonly_fields, "granted_scopes"]
    settings_fieldset: ClassVar[tuple[str, _FieldOpts]] = (
        "Settings",
        {"fields": ["organization", "provider", "external_id"]},
    )
    fieldsets = [
        (
            "Status",
            {
                "fields": [
                    "status_badge",
                    "last_error",
                    "connected_by",
                    "connected_at",
                    "disconnected_at",
                    "public_id",
                ]
            },
        ),
        settings_fieldset,
        ("What data is shared", {"fields": ["data_shared"]}),
        ("Activity", {"fields": ["activity"], "classes": ["collapse"]}),
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        return self.fieldsets if obj is not None else [self.settings_fieldset]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly += ["organization", "provider"]
            if not obj.is_live:
                readonly += ["external_id"]
        return readonly

    def create_with_service(self, request: HttpRequest, form: ModelForm) -> models.Model:
        data = form.cleaned_data
        return self.connect_service(
            organization=data["organization"],
            provider=data["provider"],
            connected_by=request.user,
            external_id=data.get("external_id", ""),
        )

    def update_with_service(self, request: HttpRequest, obj: Any, form: ModelForm) -> models.Model:
        if "external_id" not in form.cleaned_data:
            return obj
        return self.update_service(service=obj, actor=request.user, external_id=form.cleaned_data["external_id"])

    def disconnect(self, request: HttpRequest, obj: Any) -> None:
        self.disconnect_service(service=obj, actor=request.user)
