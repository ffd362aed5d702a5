"""Organizations, their members and the audit trail in the IT-admin console."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypedDict, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Count, Q
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString

from accounts import api_scopes
from accounts.console import (
    OrganizationScopedAdmin,
    ScopedInline,
    ServiceBackedAdmin,
    acting_user,
    administered_ids,
    data_shared_context,
    organization_page_connection_inlines,
    person_page_panels,
)
from accounts.models import (
    Application,
    AuditEvent,
    Membership,
    Organization,
    OrganizationInvitation,
    Role,
    ServiceAccount,
    User,
)
from accounts.oauth import (
    application_create,
    application_update,
    service_account_create,
    service_account_revoke,
    service_account_tokens_issue,
)
from accounts.selectors import users_of_organizations
from accounts.services import (
    member_create,
    membership_remove,
    membership_set,
    organization_create,
    organization_invitation_send,
    organization_update,
    user_create,
    user_save_changes,
)

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldGroups
    from django_stubs_ext import WithAnnotations


class MembershipPageFormSet(BaseInlineFormSet):
    """One page of an organization's members: an organization of 10,000 people would otherwise
    render 10,000 forms. The page is `?members_page=N` of the organization page (a save posts back
    to the same address, so it saves the page it showed)."""

    page_size = 20
    page = 1
    has_next = False

    def get_queryset(self) -> models.QuerySet:
        if not hasattr(self, "_queryset"):
            members = super().get_queryset().order_by("pk")
            first = (self.page - 1) * self.page_size
            ids = list(members.values_list("pk", flat=True)[first : first + self.page_size + 1])
            self.has_next = len(ids) > self.page_size
            self._queryset = members.filter(pk__in=ids[: self.page_size])
        return self._queryset

    @property
    def first_number(self) -> int:
        return (self.page - 1) * self.page_size + 1


class MembershipForm(ModelForm):
    """A member's row changes their role; who they are shows above it (the row's title). Only new
    rows pick a person, so a page of existing members costs no query per row for its person picker."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and "user" in self.fields:
            self.fields["user"].disabled = True
            self.fields["user"].widget = forms.HiddenInput()


class MembershipInline(ScopedInline, admin.TabularInline):
    model = Membership
    form = MembershipForm
    formset = MembershipPageFormSet
    template = "admin/edit_inline/members_page.html"
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["user"]
    extra = 0
    verbose_name_plural = "Members"

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        try:
            page = max(1, int(request.GET.get("members_page", "1")))
        except ValueError:
            page = 1
        return type(formset.__name__, (formset,), {"page": page})

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._parent_in_scope(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._parent_in_scope(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._parent_in_scope(request, obj)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).select_related("user", "organization")


class ServiceAccountInline(ScopedInline, admin.TabularInline):
    """Integrator access on the organization's page: which applications reach its people (read here;
    granted and revoked on the Integrator access pages)."""

    model = ServiceAccount
    # One tuple for both: every field shown is read-only (a tuple fits both attributes' declared types).
    readonly_fields = fields = ("application", "delegated_scopes", "access_mode", "granted_by", "created_at")
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "Integrator access (Enterprise Connect)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).filter(revoked_at__isnull=True).select_related("application", "granted_by")


class OrganizationForm(ModelForm):
    class Meta:
        model = Organization
        fields = ["name", "parent"]


class OrganizationCounts(TypedDict):
    """What the organization list annotates onto each row (see OrganizationAdmin.get_queryset)."""

    _members: int
    _calendar_services: int


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin, ServiceBackedAdmin[Organization]):
    organization_path = "pk"
    form = OrganizationForm
    list_display = ["name", "parent", "public_id", "member_count", "calendar_service_count"]
    search_fields = ["name", "public_id"]
    list_select_related = ["parent"]
    readonly_fields = ["public_id", "created_at"]
    inlines = [MembershipInline]

    change_form_template = "admin/accounts/organization/change_form.html"

    def get_inlines(self, request: HttpRequest, obj: Organization | None) -> list:
        # Connections are made on their own pages once the organization exists.
        if obj is None:
            return [MembershipInline]
        return [MembershipInline, ServiceAccountInline, *organization_page_connection_inlines()]

    def get_fieldsets(self, request: HttpRequest, obj: Organization | None = None) -> list:
        if obj is None:
            return [(None, {"fields": ["name", "parent"]})]
        return [(None, {"fields": ["name", "parent", "public_id", "created_at"]})]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # The overview comes after the connection lists, so the template renders it, not a field.
        organization = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "data_shared_overview": self.data_shared_overview(organization),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _members=Count("memberships", distinct=True),
                _calendar_services=Count(
                    "calendarservices", filter=~Q(calendarservices__status="disconnected"), distinct=True
                ),
            )
        )

    def get_form(
        self, request: HttpRequest, obj: Organization | None = None, change: bool = False, **kwargs: Any
    ) -> type[ModelForm]:
        form = super().get_form(request, obj, change=change, **kwargs)
        if not request.user.is_superuser and "parent" in form.base_fields:
            # Admins create units inside the ones they administer; only superusers create top-level ones.
            is_own_top_level = obj is not None and obj.parent_id is None
            form.base_fields["parent"].required = not is_own_top_level
            form.base_fields["parent"].disabled = is_own_top_level
        return form

    @admin.display(description="Members", ordering="_members")
    def member_count(self, obj: WithAnnotations[Organization, OrganizationCounts]) -> int:
        return obj._members

    @admin.display(description="Calendar services", ordering="_calendar_services")
    def calendar_service_count(self, obj: WithAnnotations[Organization, OrganizationCounts]) -> int:
        return obj._calendar_services

    def data_shared_overview(self, obj: Organization) -> SafeString:
        connections = [
            connection
            for inline in organization_page_connection_inlines()
            for connection in inline(self.model, self.admin_site).live_connections(obj)
        ]
        return render_to_string(
            "admin/cronofy_site/data_shared_overview.html",
            {"panels": [data_shared_context(connection) for connection in connections]},
        )

    def create_with_service(self, request: HttpRequest, form: ModelForm) -> Organization:
        return organization_create(
            name=form.cleaned_data["name"], parent=form.cleaned_data.get("parent"), actor=acting_user(request)
        )

    def update_with_service(self, request: HttpRequest, obj: Organization, form: ModelForm) -> Organization:
        return organization_update(
            organization=obj,
            actor=acting_user(request),
            name=form.cleaned_data["name"],
            parent=form.cleaned_data.get("parent"),
        )

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool) -> None:
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        organization = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.deleted_forms:
            if inline_form.instance.pk:
                membership_remove(membership=inline_form.instance, actor=acting_user(request))
                formset.deleted_objects.append(inline_form.instance)
        for inline_form in formset.forms:
            if inline_form in formset.deleted_forms or not inline_form.has_changed():
                continue
            membership = inline_form.instance
            user, role = inline_form.cleaned_data["user"], inline_form.cleaned_data["role"]
            if membership.pk and "user" in inline_form.changed_data:
                membership_remove(membership=Membership.objects.get(pk=membership.pk), actor=acting_user(request))
                membership.pk = None
            saved = membership_set(organization=organization, user=user, role=role, actor=acting_user(request))
            if membership.pk:
                formset.changed_objects.append((saved, inline_form.changed_data))
            else:
                formset.new_objects.append(saved)
        return None


class UserAddForm(forms.ModelForm):
    """Adding a person: for organization admins always into one of their organizations. An address
    that already has an account is not an error: its owner is added when the admin already
    administers them, and otherwise invited by email to accept."""

    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)

    class Meta:
        model = User
        fields = ["email", "name"]

    def validate_unique(self) -> None:
        pass  # an existing address is handled by the admin (added or invited), never a unique error


@admin.register(User)
class UserAdmin(OrganizationScopedAdmin, DjangoUserAdmin):
    organization_path = "memberships__organization"
    add_form = UserAddForm
    ordering = ["email"]
    list_display = ["email", "name", "public_id", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "name", "public_id"]
    readonly_fields = ["public_id", "last_login", "date_joined", "memberships_list"]
    filter_horizontal = ["groups", "user_permissions"]
    superuser_fieldsets = [
        (None, {"fields": ["email", "password", "public_id"]}),
        ("Profile", {"fields": ["name", "default_tzid"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Organizations", {"fields": ["memberships_list"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    admin_fieldsets = [
        (None, {"fields": ["email", "public_id"]}),
        ("Profile", {"fields": ["name", "default_tzid", "is_active"]}),
        ("Organizations", {"fields": ["memberships_list"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"fields": ["email", "name", "organization", "role"]})]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.distinct()

    def _in_scope(self, request: HttpRequest, obj: Any) -> bool:
        # A user belongs to several organizations: in scope when one of them is administered.
        ids = administered_ids(request)
        if not ids:
            return False
        return obj is None or obj.memberships.filter(organization_id__in=ids).exists()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if request.user.is_superuser:
            return True
        if obj is None:
            return self._in_scope(request, None)
        # Changing a person other organizations share, or a superuser, is for superusers.
        ids = administered_ids(request)
        return (
            not obj.is_superuser
            and obj.memberships.exists()
            and not obj.memberships.exclude(organization_id__in=ids).exists()
        )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        if obj is None:
            return self.add_fieldsets
        return self.superuser_fieldsets if request.user.is_superuser else self.admin_fieldsets

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> type[ModelForm]:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            organizations = Organization.objects.all()
            if not request.user.is_superuser:
                organizations = organizations.filter(pk__in=administered_ids(request))
            # UserAddForm declares it as a ModelChoiceField; base_fields is typed as plain Fields.
            organization_field = cast(forms.ModelChoiceField, form.base_fields["organization"])
            organization_field.queryset = organizations
            organization_field.required = not request.user.is_superuser
        return form

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        # Panels the calendar apps add (the person's own connections), each scoped by its owner.
        person = self.get_object(request, object_id)
        panels = person_page_panels(request, person) if person is not None else []
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "person_panels": panels})

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        # An organization admin setting an owner's password would become that owner.
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    @admin.display(description="Memberships")
    def memberships_list(self, obj: User) -> str:
        return (
            ", ".join(
                f"{m.organization} ({m.get_role_display()})" for m in obj.memberships.select_related("organization")
            )
            or "None"
        )

    def save_form(self, request: HttpRequest, form: ModelForm, change: bool) -> User:
        if change:
            return super().save_form(request, form, change)
        data = form.cleaned_data
        existing = User.objects.filter(email__iexact=data["email"].strip()).first()
        if existing is not None:
            return self._add_existing(request, existing, data)
        if data.get("organization"):
            return member_create(
                organization=data["organization"],
                email=data["email"],
                name=data["name"],
                role=data["role"],
                actor=acting_user(request),
            )
        return user_create(email=data["email"], name=data["name"], actor=acting_user(request))

    def _add_existing(self, request: HttpRequest, person: User, data: dict[str, Any]) -> User:
        """Someone who already has an account: added at once when the admin already administers them
        (or is a superuser), otherwise sent an invitation they have to accept."""
        organization = data.get("organization")
        if organization is None:
            raise ValidationError("This person already has an account.")
        administered = users_of_organizations(organization_ids=administered_ids(request))
        if request.user.is_superuser or administered.filter(pk=person.pk).exists():
            membership_set(organization=organization, user=person, role=data["role"], actor=acting_user(request))
            return person
        organization_invitation_send(
            organization=organization, email=person.email, role=data["role"], invited_by=acting_user(request)
        )
        request._invited_instead = organization  # type: ignore[attr-defined]
        return person

    def response_add(self, request: HttpRequest, obj: User, post_url_continue: str | None = None) -> HttpResponse:
        organization = getattr(request, "_invited_instead", None)
        if organization is None:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(
            request,
            f"An invitation to join {organization} was emailed to {obj.email}; they join once they accept it.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:accounts_organization_change", args=[organization.pk]))

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if getattr(request, "_invited_instead", None) is None:
            return super().log_addition(request, obj, message)
        return None

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        if change:
            # Profile and access fields only; roles change on the organization page.
            user_save_changes(user=obj, actor=acting_user(request), changed_fields=form.changed_data)

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool) -> None:
        if change:
            super().save_related(request, form, formsets, change)


@admin.register(AuditEvent)
class AuditEventAdmin(OrganizationScopedAdmin):
    list_display = ["created_at", "organization", "who", "action", "target_repr"]
    list_filter = ["action", ("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["organization", "actor"]
    search_fields = ["target_repr", "actor__email", "action"]
    readonly_fields = fields = ("created_at", "organization", "who", "action", "target_type", "target_repr", "changes")

    @admin.display(description="Who")
    def who(self, obj: AuditEvent) -> str:
        return obj.actor_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ApplicationForm(forms.ModelForm):
    redirect_uris = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 70}),
        help_text="One per line, exactly as the application sends them.",
    )
    offered_access_modes = forms.MultipleChoiceField(
        choices=[("read_write", "Read-Write"), ("free_busy", "Free/Busy"), ("no_access", "No Access")],
        widget=forms.CheckboxSelectMultiple,
        initial=["read_write", "free_busy"],
        help_text="The modes people may connect in. No Access (provider_name=cronofy) is opt-in.",
    )

    class Meta:
        model = Application
        fields = ["name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["redirect_uris"] = "\n".join(self.instance.client.get_redirect_uris())
            self.initial["offered_access_modes"] = self.instance.offered_access_modes

    def clean_redirect_uris(self) -> list[str]:
        uris = [line.strip() for line in self.cleaned_data["redirect_uris"].splitlines() if line.strip()]
        validator = URLValidator(schemes=["http", "https"])
        for uri in uris:
            validator(uri)
        return uris


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    """Integrator applications are the platform's to register: superusers only (default permissions)."""

    form = ApplicationForm
    list_display = ["name", "client_id", "offered_access_modes", "created_at"]
    readonly_fields = ["client_id", "created_by", "created_at"]
    search_fields = ["name", "client__id"]

    def save_form(self, request: HttpRequest, form: ModelForm, change: bool) -> Application:
        data = form.cleaned_data
        if change:
            stored = Application.objects.select_related("client").get(pk=form.instance.pk)
            return application_update(
                application=stored,
                redirect_uris=data["redirect_uris"],
                offered_access_modes=data["offered_access_modes"],
                actor=acting_user(request),
            )
        application, secret = application_create(
            name=data["name"],
            redirect_uris=data["redirect_uris"],
            offered_access_modes=data["offered_access_modes"],
            actor=acting_user(request),
        )
        self.message_user(
            request,
            f"Client id: {application.client_id}. Client secret (shown once, keep it safe): {secret}",
            messages.WARNING,
        )
        return application

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool) -> None:
        pass


@admin.register(OrganizationInvitation)
class OrganizationInvitationAdmin(OrganizationScopedAdmin):
    """Invitations sent from the Users page ("Add user" with an address that already has an account)."""

    list_display = ["email", "organization", "role", "invited_by", "created_at", "expires_at", "accepted_at"]
    list_filter = [("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["organization", "invited_by"]
    readonly_fields = fields = (
        "organization",
        "email",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "accepted_by",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ServiceAccountForm(forms.ModelForm):
    """The admin's Enterprise Connect decision. The application is named by the client id its integrator
    gives (never a list of every application on the platform)."""

    client_id = forms.CharField(label="Application client id", max_length=200)
    scopes = forms.MultipleChoiceField(
        choices=list(api_scopes.SERVICE_ACCOUNT_SCOPES.items()),
        widget=forms.CheckboxSelectMultiple,
        initial=[api_scopes.SERVICE_ACCOUNT_ACCOUNTS_MANAGE, api_scopes.SERVICE_ACCOUNT_RESOURCES_MANAGE],
        label="The application may",
    )
    delegated_scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in api_scopes.DELEGABLE_SCOPES],
        widget=forms.CheckboxSelectMultiple,
        label="For each person, at most",
        help_text="Each calendar service's access mode still limits what the application can do.",
    )
    access_mode = forms.ChoiceField(
        choices=[("", "Each calendar service's mode"), ("read_write", "Read-Write"), ("free_busy", "Free/Busy")],
        required=False,
        label="Mode for free_busy_write",
        help_text="With free_busy_write, the mode you choose for everyone (as people choose on their consent page).",
    )

    class Meta:
        model = ServiceAccount
        fields = ["organization"]

    def clean_client_id(self) -> Application:
        application = Application.objects.filter(client_id=self.cleaned_data["client_id"].strip()).first()
        if application is None:
            raise ValidationError("No application has this client id.")
        return application


@admin.register(ServiceAccount)
class ServiceAccountAdmin(OrganizationScopedAdmin, ServiceBackedAdmin[ServiceAccount]):
    """Integrator access (Enterprise Connect): which applications reach the organization's people, up to
    which scope. Granted here or by Cronofy's authorize flow; revoked here, ending every delegated token."""

    form = ServiceAccountForm
    list_display = [
        "application",
        "organization",
        "delegated_scope",
        "access_mode",
        "granted_by",
        "created_at",
        "revoked_at",
    ]
    list_filter = [("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["organization", "application", "granted_by"]
    actions = ["revoke"]
    shown_fields: ClassVar[tuple[str, ...]] = (
        "organization",
        "application",
        "scopes",
        "delegated_scopes",
        "access_mode",
        "granted_by",
        "created_at",
        "revoked_at",
    )

    @admin.display(description="delegated scope")
    def delegated_scope(self, obj: ServiceAccount) -> str:
        return " ".join(obj.delegated_scopes)

    def get_fields(self, request: HttpRequest, obj: ServiceAccount | None = None) -> _FieldGroups:
        if obj is None:
            return ["organization", "client_id", "scopes", "delegated_scopes", "access_mode"]
        return self.shown_fields

    def get_readonly_fields(self, request: HttpRequest, obj: ServiceAccount | None = None) -> tuple[str, ...]:
        return self.shown_fields if obj is not None else ()

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is not None:
            kwargs["form"] = forms.ModelForm  # the decision is read here; a new one replaces it
        return super().get_form(request, obj, change, **kwargs)

    def create_with_service(self, request: HttpRequest, form: ModelForm) -> ServiceAccount:
        data = form.cleaned_data
        service_account = service_account_create(
            organization=data["organization"],
            application=data["client_id"],
            scopes=data["scopes"],
            delegated_scopes=data["delegated_scopes"],
            access_mode=data["access_mode"],
            actor=acting_user(request),
        )
        tokens = service_account_tokens_issue(service_account=service_account)
        self.message_user(
            request,
            f"Give {service_account.application.name}'s integrator this service account token (shown once, keep it "
            f"safe): {tokens.access_token} and refresh token {tokens.refresh_token}",
            messages.WARNING,
        )
        return service_account

    def update_with_service(self, request: HttpRequest, obj: ServiceAccount, form: ModelForm) -> ServiceAccount:
        return obj  # nothing is edited in place

    @admin.action(description="Revoke: end every token issued under the selected grants at once")
    def revoke(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        revoked = sum(service_account_revoke(service_account=item, actor=acting_user(request)) for item in queryset)
        self.message_user(request, f"Revoked {revoked} integrator access grant(s).", messages.SUCCESS)
