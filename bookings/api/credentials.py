"""Typed access to what `/v1` authentication left on the request.

DRF types `request.auth` loosely (any token object) and `request.user` as Django's user-or-anonymous;
the permission classes in accounts.api_auth have already checked which credential a view holds, so
these helpers only narrow the types at that boundary (and fail like the permission would, should a
view ever be wired to the wrong base class).
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.request import Request

from accounts.models import Application, User
from accounts.oauth import AccessContext


def access_context(request: Request) -> AccessContext:
    """An AccountApiView's caller: the access token's account, application, grant and scopes."""
    context = request.auth
    if not isinstance(context, AccessContext):
        raise exceptions.NotAuthenticated()
    return context


def calling_application(request: Request) -> Application:
    """An ApplicationApiView's caller: the application its client secret (or an account's token) stands for."""
    application = request.auth
    if not isinstance(application, Application):
        raise exceptions.NotAuthenticated()
    return application


def calling_account(request: Request) -> User | None:
    """On an ApplicationApiView, the account whose access token was sent instead of the client secret
    (None when the application's secret was sent)."""
    user = request.user
    return user if isinstance(user, User) else None
