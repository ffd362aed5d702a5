"""Conferencing services in the IT-admin console."""

from django.contrib import admin

from accounts.console import ConnectionSummaryInline, ProviderConnectionAdmin, organization_page_add_connections
from conferencing.models import ConferencingService
from conferencing.services import (
    conferencing_service_connect,
    conferencing_service_disconnect,
    conferencing_service_update,
)


class ConferencingServiceInline(ConnectionSummaryInline):
    model = ConferencingService
    fields = ["provider", "status_badge", "connected_by", "connected_at"]
    readonly_fields = fields
    add_link_label = "Connect a conferencing service"


organization_page_add_connections(ConferencingServiceInline)


@admin.register(ConferencingService)
class ConferencingServiceAdmin(ProviderConnectionAdmin):
    connect_service = staticmethod(conferencing_service_connect)
    update_service = staticmethod(conferencing_service_update)
    disconnect_service = staticmethod(conferencing_service_disconnect)
