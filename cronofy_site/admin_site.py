"""The admin site as the IT-admin console: only superusers and organization owners/admins get in."""

from __future__ import annotations

from typing import Any

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from accounts.selectors import request_administered_organization_ids


class ConsoleAdminSite(admin.AdminSite):
    site_header = "IT admin console"
    site_title = "IT admin console"
    index_title = "Organizations and their connections"
    enable_nav_sidebar = True

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        return user.is_superuser or bool(request_administered_organization_ids(request))

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # Sign-in goes through allauth, so MFA and rate limits protect the console too.
        return secure_admin_login(super().login)(request, extra_context)
