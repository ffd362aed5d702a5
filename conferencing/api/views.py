"""`POST /v1/conferencing_service_authorizations`: a URL where the account's person links their own
Zoom or Webex, coming back to the integrator's `redirect_uri` with `last_linked_profile_id`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import AccountApiView, account_access
from conferencing.linking import link_request_url
from conferencing.models import PERSONAL_PROVIDERS, ConferencingProvider


class AuthorizationInput(serializers.Serializer):
    redirect_uri = serializers.URLField(max_length=2000)
    provider_name = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")

    def validate_provider_name(self, value: str) -> str:
        if value and value not in ConferencingProvider.values:
            raise serializers.ValidationError(f"“{value}” is not a conferencing provider (zoom, webex).")
        if value and value not in PERSONAL_PROVIDERS:
            raise serializers.ValidationError(
                f"{ConferencingProvider(value).label} is connected by the organization's IT admin for everyone; "
                "people link zoom or webex themselves."
            )
        return value


class AuthorizationRequestOutput(serializers.Serializer):
    url = serializers.URLField()


class AuthorizationOutput(serializers.Serializer):
    authorization_request = AuthorizationRequestOutput()


class ConferencingServiceAuthorizationsApi(AccountApiView):
    """Any valid token of the account may ask; the person signs in as that account to follow the link."""

    @extend_schema(
        request=AuthorizationInput, responses={200: AuthorizationOutput}, summary="Link a conferencing service"
    )
    def post(self, request: Request) -> Response:
        data = AuthorizationInput(data=request.data)
        data.is_valid(raise_exception=True)
        access = account_access(request)
        application = access.application
        redirect_uri = data.validated_data["redirect_uri"]
        if redirect_uri not in application.client.get_redirect_uris():
            raise serializers.ValidationError({"redirect_uri": "is not one of the application's redirect URIs."})
        url = link_request_url(
            user=access.user,
            application=application,
            redirect_uri=redirect_uri,
            provider=data.validated_data["provider_name"],
        )
        return Response({"authorization_request": {"url": url}})
