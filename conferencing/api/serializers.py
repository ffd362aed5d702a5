"""Conferencing profiles in Cronofy's shape (`cronofy.data.conferencing_profiles` of `/v1/userinfo`)."""

from __future__ import annotations

from rest_framework import serializers


class ConferencingProfileOutput(serializers.Serializer):
    provider_name = serializers.CharField(source="provider")
    profile_id = serializers.CharField(source="public_id")
    profile_name = serializers.CharField()
    profile_connected = serializers.BooleanField(source="is_connected")
