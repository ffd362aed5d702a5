"""The admin site as the IT-admin console: only superusers and organization owners/admins get in."""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from allauth.account.decorators import secure_admin_login
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from accounts.models import User
from accounts.selectors import request_administered_organization_ids, staff_second_factor_missing

# Django's admin_view hands back a wrapper standing in for the view; the stubs type it as the view's own type.
_View = TypeVar("_View", bound=Callable[..., Any])


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

    def admin_view(self, view: _View, cacheable: bool = False) -> _View:
        checked = super().admin_view(view, cacheable)

        def with_second_factor(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            # Signed-out visitors reach this too (the checked view sends them to sign in).
            user = request.user
            if isinstance(user, User) and staff_second_factor_missing(user) and request.path != reverse("admin:logout"):
                messages.info(
                    request,
                    "The IT admin console needs a second sign-in step: add an authenticator app first. "
                    "You will be asked for its code whenever you sign in.",
                )
                return HttpResponseRedirect(
                    f"{reverse('mfa_activate_totp')}?{urlencode({'next': request.get_full_path()})}"
                )
            return checked(request, *args, **kwargs)

        return cast(_View, update_wrapper(with_second_factor, checked))
