"""Bearer authentication for `/v1` (an account's access token, or an application's client secret) and
scope checks. Kept apart from views: DRF imports these classes while its own views module loads."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import Application
from accounts.oauth import (
    AccessContext,
    ServiceAccountContext,
    access_token_authenticate,
    application_by_secret,
    service_account_token_authenticate,
)


def _bearer(request: Request) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else ""


class AccessTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <access_token>`: request.user is the account, request.auth its grant."""

    def authenticate(self, request: Request) -> tuple[Any, AccessContext] | None:
        value = _bearer(request)
        if not value:
            return None
        context = access_token_authenticate(value)
        if context is None:
            raise exceptions.AuthenticationFailed("The access token is invalid, expired or revoked.")
        return context.user, context

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ServiceAccountAuthentication(BaseAuthentication):
    """`Authorization: Bearer <service account token>` (Enterprise Connect): request.user is nobody,
    request.auth the service account's context. Any other token is left to the next class (an endpoint
    open to both kinds lists this one first); where none follows, the permission answers 401."""

    def authenticate(self, request: Request) -> tuple[Any, ServiceAccountContext] | None:
        context = service_account_token_authenticate(_bearer(request))
        return None if context is None else (None, context)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ApplicationAuthentication(BaseAuthentication):
    """`Authorization: Bearer <client_secret>`, as Cronofy's application-level endpoints take. An
    account's access token is accepted too and stands for its application, as Cronofy's SDKs still
    send one for backward compatibility; then request.user is that account, and the view answers for
    it alone (speaking for other accounts takes the application's secret)."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        value = _bearer(request)
        if not value:
            return None
        application = application_by_secret(value)
        if application is not None:
            return None, application
        context = access_token_authenticate(value)
        if context is None:
            raise exceptions.AuthenticationFailed("The client secret is not recognised.")
        return context.user, context.application

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class IsApplication(BasePermission):
    message = "Application credentials are required (Authorization: Bearer <client_secret>)."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, Application):
            raise exceptions.NotAuthenticated()
        return True


class HasScope(BasePermission):
    """The access token's grant includes the view's `required_scopes[method]` (or `required_scope`)."""

    message = "The access token does not grant the scope this call needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, AccessContext):
            raise exceptions.NotAuthenticated()
        needed = getattr(view, "required_scopes", {}).get(request.method, getattr(view, "required_scope", None))
        if needed and not request.auth.allows(needed):
            self.message = f"The access token does not grant {needed}."
            return False
        return True


class HasServiceAccountScope(BasePermission):
    """A service account's token holding the view's `service_account_scope`."""

    message = "A service account token is required."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, ServiceAccountContext):
            raise exceptions.NotAuthenticated()
        needed = getattr(view, "service_account_scope", None)
        if needed and not request.auth.allows(needed):
            self.message = f"The service account token does not grant {needed}."
            return False
        return True


class HasScopeOrServiceAccountScope(BasePermission):
    """For endpoints both kinds of token reach (/v1/userinfo, /v1/resources): each checked its own way."""

    message = "The access token does not grant the scope this call needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        checker = HasServiceAccountScope() if isinstance(request.auth, ServiceAccountContext) else HasScope()
        allowed = checker.has_permission(request, view)
        self.message = checker.message
        return allowed
