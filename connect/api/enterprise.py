"""Enterprise Connect's `/v1`: `POST /v1/service_account_authorizations` (a service account asks for
delegated access to people of its organization, answered later at each callback URL)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import api_scopes
from accounts.api import ServiceAccountApiView, service_account_access
from connect.enterprise import MAX_BATCH, AuthorizationRequest, service_account_authorizations_request
from core.outbound import OutboundRefused, outbound_url_check


class ServiceAccountAuthorizationInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    callback_url = serializers.URLField(max_length=2000)
    scope = serializers.CharField(max_length=1000)
    state = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    def validate_callback_url(self, value: str) -> str:
        try:
            outbound_url_check(value)
        except OutboundRefused as refusal:
            raise serializers.ValidationError(str(refusal), code="not_allowed") from None
        return value

    def validate_scope(self, value: str) -> list[str]:
        try:
            scopes = api_scopes.parse(value)
        except api_scopes.UnknownScope as unknown:
            raise serializers.ValidationError(str(unknown), code="invalid_scope") from None
        if not scopes:
            raise serializers.ValidationError("Give at least one scope.", code="required")
        return scopes


class ServiceAccountAuthorizationBatchInput(serializers.Serializer):
    service_account_authorizations = ServiceAccountAuthorizationInput(many=True, allow_empty=False)
    state = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    def validate_service_account_authorizations(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > MAX_BATCH:
            raise serializers.ValidationError(f"At most {MAX_BATCH} authorizations at a time.", code="max_length")
        return value


class ServiceAccountAuthorizationsApi(ServiceAccountApiView):
    """One person (`email`, `callback_url`, `scope`, `state`) or a batch of 1 to 50 under
    `service_account_authorizations` (the two forms are not mixed). 202: each answer goes to its
    callback URL once decided."""

    service_account_scope = api_scopes.SERVICE_ACCOUNT_ACCOUNTS_MANAGE

    @extend_schema(
        request=ServiceAccountAuthorizationInput,
        responses={202: None},
        summary="Ask for delegated access to people of the service account's organization",
    )
    def post(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        if "service_account_authorizations" in body:
            mixed = sorted(set(body) & {"email", "callback_url", "scope"})
            if mixed:
                raise serializers.ValidationError(
                    {field: ["Give either one authorization or a batch, not both."] for field in mixed}
                )
            batch = ServiceAccountAuthorizationBatchInput(data=body)
            batch.is_valid(raise_exception=True)
            shared_state = batch.validated_data.get("state", "")
            items = [
                {**item, "state": item.get("state", shared_state)}
                for item in batch.validated_data["service_account_authorizations"]
            ]
        else:
            single = ServiceAccountAuthorizationInput(data=body)
            single.is_valid(raise_exception=True)
            items = [single.validated_data]
        service_account_authorizations_request(
            service_account=service_account_access(request).service_account,
            entries=[
                AuthorizationRequest(
                    email=item["email"],
                    callback_url=item["callback_url"],
                    scopes=item["scope"],
                    state=item.get("state", ""),
                )
                for item in items
            ],
        )
        return Response(status=202)
