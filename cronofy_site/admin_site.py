"""The admin site as the IT-admin console: only superusers and organization owners/admins get in."""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any
from urllib.parse import urlencode

from allauth.account.decorators import secure_admin_login
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from accounts.selectors import request_administered_organization_ids, staff_second_factor_missing


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

    def admin_view(self, view: Callable, cacheable: bool = False) -> Callable:
        checked = super().admin_view(view, cacheable)

        def with_second_factor(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if staff_second_factor_missing(request.user) and request.path != reverse("admin:logout"):
                messages.info(
                    request,
                    "The IT admin console needs a second sign-in step: add an authenticator app first. "
                    "You will be asked for its code whenever you sign in.",
                )
                return HttpResponseRedirect(
                    f"{reverse('mfa_activate_totp')}?{urlencode({'next': request.get_full_path()})}"
                )
            return checked(request, *args, **kwargs)

        return update_wrapper(with_second_factor, checked)
