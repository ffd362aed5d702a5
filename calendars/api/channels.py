"""`POST/GET /v1/channels` and `DELETE /v1/channels/{channel_id}`: where an integrator hears about
changes to an account's calendars."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import api_scopes
from accounts.api import AccountApiView, account_access, account_user
from calendars.api.serializers import check_own_calendars
from calendars.models import Channel
from calendars.notifications import channel_close, channel_create
from core.outbound import OutboundRefused, outbound_url_check


class ChannelInput(serializers.Serializer):
    class Filters(serializers.Serializer):
        calendar_ids = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=100)
        only_managed = serializers.BooleanField(default=False)

    callback_url = serializers.URLField(max_length=2000)
    filters = Filters(required=False)

    def validate_callback_url(self, value: str) -> str:
        try:
            outbound_url_check(value)
        except OutboundRefused as refusal:
            raise serializers.ValidationError(str(refusal), code="not_allowed") from None
        return value


class ChannelFiltersOutput(serializers.Serializer):
    calendar_ids = serializers.ListField(child=serializers.CharField(), required=False)
    only_managed = serializers.BooleanField(required=False)


class ChannelOutput(serializers.Serializer):
    channel_id = serializers.CharField()
    callback_url = serializers.URLField()
    filters = ChannelFiltersOutput()


class ChannelEnvelopeOutput(serializers.Serializer):
    channel = ChannelOutput()


class ChannelsOutput(serializers.Serializer):
    channels = ChannelOutput(many=True)


def _open_channels(request: Request):
    return Channel.objects.filter(grant=account_access(request).grant, closed_at__isnull=True)


class ChannelsApi(AccountApiView):
    required_scope = api_scopes.READ_FREE_BUSY

    @extend_schema(request=ChannelInput, responses=ChannelEnvelopeOutput, summary="Open a push notification channel")
    def post(self, request: Request) -> Response:
        data = ChannelInput(data=request.data)
        data.is_valid(raise_exception=True)
        filters = data.validated_data.get("filters") or {}
        calendar_ids = filters.get("calendar_ids") or []
        check_own_calendars(
            user_id=account_user(request).pk,
            calendar_ids=calendar_ids,
            field="filters.calendar_ids",
            grant=account_access(request).grant,
        )
        channel = channel_create(
            grant=account_access(request).grant,
            callback_url=data.validated_data["callback_url"],
            calendar_ids=calendar_ids,
            only_managed=filters.get("only_managed", False),
        )
        return Response(ChannelEnvelopeOutput({"channel": channel.as_cronofy()}).data)

    @extend_schema(responses=ChannelsOutput, summary="List the open channels")
    def get(self, request: Request) -> Response:
        channels = [channel.as_cronofy() for channel in _open_channels(request).order_by("pk")]
        return Response(ChannelsOutput({"channels": channels}).data)


class ChannelApi(AccountApiView):
    required_scope = api_scopes.READ_FREE_BUSY

    @extend_schema(responses={202: None}, summary="Close a channel")
    def delete(self, request: Request, channel_id: str) -> Response:
        channel = _open_channels(request).filter(public_id=channel_id).first()
        if channel is None:
            raise Http404
        channel_close(channel=channel)
        return Response(status=202)
