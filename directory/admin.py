"""Directory services in the IT-admin console."""

from django.contrib import admin

from accounts.console import ConnectionSummaryInline, ProviderConnectionAdmin, organization_page_add_connections
from directory.models import DirectoryService
from directory.services import (
    directory_service_connect,
    directory_service_disconnect,
    directory_service_update,
)


class DirectoryServiceInline(ConnectionSummaryInline):
    model = DirectoryService
    fields = ["provider", "status_badge", "connected_by", "last_synced_at"]
    readonly_fields = fields
    add_link_label = "Connect a directory service"


organization_page_add_connections(DirectoryServiceInline)


@admin.register(DirectoryService)
class DirectoryServiceAdmin(ProviderConnectionAdmin):
    connect_service = staticmethod(directory_service_connect)
    update_service = staticmethod(directory_service_update)
    disconnect_service = staticmethod(directory_service_disconnect)
    list_display = [*ProviderConnectionAdmin.list_display, "last_synced_at"]
    readonly_fields = [*ProviderConnectionAdmin.readonly_fields, "last_synced_at"]
