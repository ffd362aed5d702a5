"""Identity endpoints: `GET /v1/account`, `GET /v1/userinfo`, `GET /v1/profiles`,
`POST /v1/profiles/{profile_id}/revoke`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import Http404
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import api_scopes
from accounts.api import AccountApiView, AccountOrServiceAccountApiView, account_access
from accounts.oauth import ServiceAccountContext
from calendars.api.serializers import ProfilesOutput
from calendars.selectors import calendar_profiles_of_user
from calendars.services import calendar_profile_revoke_for_application
from conferencing.selectors import conferencing_profiles_of_user
from connect.api.outputs import AccountOutput, ServiceAccountUserinfoOutput, UserinfoOutput
from connect.enterprise import service_account_userinfo


class AccountApi(AccountApiView):
    required_scope = api_scopes.READ_ACCOUNT

    @extend_schema(responses=AccountOutput, summary="The account")
    def get(self, request: Request) -> Response:
        return Response(AccountOutput(request.user).data)


@dataclass(frozen=True)
class _Userinfo:
    public_id: str
    email: str
    name: str
    default_tzid: str
    cronofy_type: str
    cronofy_data: dict[str, Any]


class UserinfoApi(AccountOrServiceAccountApiView):
    """OpenID-style userinfo with Cronofy's `cronofy.data` (any valid token may read it); a service
    account's token gets Cronofy's service-account shape."""

    @extend_schema(
        responses=PolymorphicProxySerializer(
            component_name="UserinfoResponse",
            serializers=[UserinfoOutput, ServiceAccountUserinfoOutput],
            resource_type_field_name=None,
        ),
        summary="The account, its profiles and calendars (or the service account)",
    )
    def get(self, request: Request) -> Response:
        if isinstance(request.auth, ServiceAccountContext):
            return Response(ServiceAccountUserinfoOutput(service_account_userinfo(request.auth.service_account)).data)
        access = account_access(request)
        user = access.user
        profiles = calendar_profiles_of_user(user_id=user.id, grant=access.grant).prefetch_related("calendars")
        userinfo = _Userinfo(
            public_id=user.public_id,
            email=user.email,
            name=user.name,
            default_tzid=user.default_tzid,
            cronofy_type="account",
            cronofy_data={
                "authorization": {"scope": " ".join(access.grant.scopes), "status": "active"},
                "profiles": profiles,
                "conferencing_profiles": conferencing_profiles_of_user(user_id=user.id),
            },
        )
        return Response(UserinfoOutput(userinfo).data)


class ProfilesApi(AccountApiView):
    required_scope = api_scopes.READ_ACCOUNT

    @extend_schema(responses=ProfilesOutput, summary="The account's calendar profiles")
    def get(self, request: Request) -> Response:
        access = account_access(request)
        profiles = calendar_profiles_of_user(user_id=access.user.id, grant=access.grant)
        return Response(ProfilesOutput({"profiles": profiles}).data)


class ProfileRevokeApi(AccountApiView):
    """This application gives up one of the account's profiles. Its calendar access ends for the
    application; the provider grant goes only when no other application or organization uses it."""

    required_scope = api_scopes.READ_ACCOUNT

    @extend_schema(request=None, responses={202: None}, summary="Disconnect a profile")
    def post(self, request: Request, profile_id: str) -> Response:
        access = account_access(request)
        grant = access.grant
        profile = calendar_profiles_of_user(user_id=access.user.id, grant=grant).filter(public_id=profile_id).first()
        if profile is None:
            raise Http404
        calendar_profile_revoke_for_application(profile=profile, grant=grant)
        return Response(status=202)
