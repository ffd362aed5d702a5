"""`GET /v1/resources`: the rooms and resources of the account's organizations' directories, in
Cronofy's shape, for grants that may create events (rooms are only of use to book them); or, for an
Enterprise Connect service account holding `service_account/resources/*`, its organization's."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import api_scopes
from accounts.api import AccountOrServiceAccountApiView
from accounts.oauth import ServiceAccountContext
from directory.selectors import directory_resources_for, directory_resources_of_organization


class ResourceOutput(serializers.Serializer):
    email = serializers.CharField()
    name = serializers.CharField()


class ResourcesApi(AccountOrServiceAccountApiView):
    required_scope = api_scopes.CREATE_EVENT
    service_account_scope = api_scopes.SERVICE_ACCOUNT_RESOURCES_MANAGE

    @extend_schema(
        responses=inline_serializer("ResourcesResponse", {"resources": ResourceOutput(many=True)}),
        summary="List rooms and resources",
    )
    def get(self, request: Request) -> Response:
        if isinstance(request.auth, ServiceAccountContext):
            resources = directory_resources_of_organization(organization=request.auth.service_account.organization)
        else:
            resources = directory_resources_for(user=request.auth.user)
        return Response({"resources": ResourceOutput(resources, many=True).data})
