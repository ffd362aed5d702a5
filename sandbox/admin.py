"""The sandbox's worlds in the admin (superusers only): people, calendars and events, OAuth clients,
delegations and consents, tokens, push channels, Zoom accounts and Webex sites with their users and apps,
the meetings every conferencing provider holds, Teams access policies, and fault switches."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from sandbox import services, tokens
from sandbox.models import (
    AdminConsent,
    Calendar,
    DelegationGrant,
    Event,
    Fault,
    Meeting,
    MeetingAccount,
    MeetingApp,
    MeetingUser,
    OAuthClient,
    Person,
    ServiceAccount,
    Subscription,
    TeamsAccessPolicy,
    Tenant,
    Token,
    WatchChannel,
)


class PersonInline(admin.TabularInline):
    model = Person
    fields = ["email", "name", "kind", "is_admin", "suspended", "time_zone"]
    extra = 0


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "provider", "external_id", "domains"]
    list_filter = ["provider"]
    inlines = [PersonInline]


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "kind", "tenant", "is_admin", "suspended"]
    list_filter = ["tenant__provider", "kind", "tenant"]
    search_fields = ["email", "name"]
    actions = ["revoke_grants"]

    @admin.action(description="Revoke every grant (as if the person removed the app's access)")
    def revoke_grants(self, request: HttpRequest, queryset: QuerySet[Person]) -> None:
        count = sum(tokens.revoke_all_for(person) for person in queryset)
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


@admin.register(Calendar)
class CalendarAdmin(admin.ModelAdmin):
    list_display = ["calendar_id", "name", "owner", "is_primary", "time_zone", "sync_epoch"]
    search_fields = ["calendar_id", "owner__email"]
    actions = ["expire_sync_tokens"]

    @admin.action(description="Expire sync tokens and delta links (next incremental sync gets 410 Gone)")
    def expire_sync_tokens(self, request: HttpRequest, queryset: QuerySet[Calendar]) -> None:
        for calendar in queryset:
            services.calendar_expire_sync_tokens(calendar=calendar)
        self.message_user(request, f"Expired the sync state of {queryset.count()} calendar(s).", messages.SUCCESS)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["summary", "calendar", "start", "end", "status", "show_as", "transparent", "change_seq"]
    list_filter = ["status", "show_as", "calendar__owner__tenant"]
    search_fields = ["summary", "calendar__calendar_id", "event_id"]
    date_hierarchy = "start"
    list_select_related = ["calendar"]


@admin.register(OAuthClient)
class OAuthClientAdmin(admin.ModelAdmin):
    list_display = ["name", "provider", "client_id"]


@admin.register(ServiceAccount)
class ServiceAccountAdmin(admin.ModelAdmin):
    list_display = ["client_email", "unique_id", "client"]
    readonly_fields = ["client_email", "unique_id", "private_key_id", "public_key_pem"]
    exclude = ["key"]


@admin.register(DelegationGrant)
class DelegationGrantAdmin(admin.ModelAdmin):
    list_display = ["service_account", "tenant"]


@admin.register(AdminConsent)
class AdminConsentAdmin(admin.ModelAdmin):
    list_display = ["client", "tenant", "granted_at"]


@admin.register(Token)
class TokenAdmin(admin.ModelAdmin):
    list_display = ["kind", "provider", "person", "client", "expires_at", "revoked_at", "created_at"]
    list_filter = ["kind", "provider"]
    readonly_fields = [field.name for field in Token._meta.fields]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Token]) -> None:
        for token in queryset:
            tokens.revoke(token)


@admin.register(WatchChannel)
class WatchChannelAdmin(admin.ModelAdmin):
    list_display = ["channel_id", "calendar", "address", "expiration", "message_number", "stopped_at"]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["subscription_id", "person", "resource", "notification_url", "expiration", "deleted_at"]


@admin.register(Fault)
class FaultAdmin(admin.ModelAdmin):
    list_display = ["kind", "provider", "operation", "times", "hits", "retry_after", "delay_ms", "active"]
    list_editable = ["active"]
    list_filter = ["active", "provider", "kind"]


class MeetingUserInline(admin.TabularInline):
    model = MeetingUser
    fields = ["email", "first_name", "last_name", "user_id", "status", "is_admin"]
    extra = 0


@admin.register(MeetingAccount)
class MeetingAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "provider", "account_id", "site_url"]
    list_filter = ["provider"]
    inlines = [MeetingUserInline]


@admin.register(MeetingApp)
class MeetingAppAdmin(admin.ModelAdmin):
    list_display = ["name", "provider", "kind", "client_id", "account"]
    list_filter = ["provider", "kind"]


@admin.register(Meeting)
class MeetingAdmin(admin.ModelAdmin):
    list_display = ["topic", "provider", "host_email", "start", "end", "state", "access_type", "created"]
    list_filter = ["provider", "state"]
    search_fields = ["topic", "host_email", "meeting_id", "external_id"]


@admin.register(TeamsAccessPolicy)
class TeamsAccessPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "client", "is_global"]
    filter_horizontal = ["people"]
