"""The base classes of every `/v1` view: who may call it and how they authenticate."""

from __future__ import annotations

from typing import cast

from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.api_auth import (
    AccessTokenAuthentication,
    ApplicationAuthentication,
    HasScope,
    HasScopeOrServiceAccountScope,
    HasServiceAccountScope,
    IsApplication,
    ServiceAccountAuthentication,
)
from accounts.models import Application, User
from accounts.oauth import AccessContext, ServiceAccountContext


class AccountApiView(APIView):
    """An endpoint called with an account's access token."""

    authentication_classes = [AccessTokenAuthentication]
    permission_classes = [HasScope]


class ApplicationApiView(APIView):
    """An endpoint called with the application's client secret."""

    authentication_classes = [ApplicationAuthentication]
    permission_classes = [IsApplication]


class ServiceAccountApiView(APIView):
    """An endpoint called with a service account's token (Enterprise Connect); `service_account_scope`
    names the scope it needs."""

    authentication_classes = [ServiceAccountAuthentication]
    permission_classes = [HasServiceAccountScope]


class AccountOrServiceAccountApiView(APIView):
    """An endpoint an account's token and a service account's token both reach, each with its own scope
    (`required_scope` for the account, `service_account_scope` for the service account)."""

    authentication_classes = [ServiceAccountAuthentication, AccessTokenAuthentication]
    permission_classes = [HasScopeOrServiceAccountScope]


def account_access(request: Request) -> AccessContext:
    """What an account's access token speaks for (user, application, grant, scopes), typed: on an
    AccountApiView AccessTokenAuthentication put it in `request.auth` and the permission refused any call
    without it (on an AccountOrServiceAccountApiView, once the service-account case is handled). A view
    wired to the wrong base fails as the permission would."""
    context = request.auth
    if not isinstance(context, AccessContext):
        raise exceptions.NotAuthenticated()
    return context


def account_user(request: Request) -> User:
    """The account an AccountApiView request speaks for."""
    return account_access(request).user


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


def service_account_access(request: Request) -> ServiceAccountContext:
    """What a service account's token speaks for, typed: on a ServiceAccountApiView
    ServiceAccountAuthentication put it in `request.auth` and the permission refused any call without it."""
    return cast(ServiceAccountContext, request.auth)
