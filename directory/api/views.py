"""`GET /v1/resources`: the rooms and resources of the account's organizations' directories, in
Cronofy's shape, for grants that may create events (rooms are only of use to book them)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import api_scopes
from accounts.api import AccountApiView
from directory.selectors import directory_resources_for


class ResourceOutput(serializers.Serializer):
    email = serializers.CharField()
    name = serializers.CharField()


class ResourcesApi(AccountApiView):
    required_scope = api_scopes.CREATE_EVENT

    @extend_schema(
        responses=inline_serializer("ResourcesResponse", {"resources": ResourceOutput(many=True)}),
        summary="List rooms and resources",
    )
    def get(self, request: Request) -> Response:
        resources = directory_resources_for(user=request.auth.user)
        return Response({"resources": ResourceOutput(resources, many=True).data})
