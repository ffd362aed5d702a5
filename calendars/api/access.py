"""Typed access to who a `/v1` request was authenticated as.

DRF types `request.user` as any user (anonymous included) and `request.auth` as anything; behind
`AccountApiView` the authentication class (AccessTokenAuthentication) has already set them to the account
and its AccessContext, or refused the request. These helpers state that once, at the view boundary.
"""

from __future__ import annotations

from typing import cast

from rest_framework.request import Request

from accounts.models import User
from accounts.oauth import AccessContext


def account_access(request: Request) -> AccessContext:
    """The access token's context (account, application, grant, scopes) of an AccountApiView request."""
    return cast(AccessContext, request.auth)


def account_user(request: Request) -> User:
    """The account an AccountApiView request speaks for."""
    return cast(User, request.user)
