"""What the identity endpoints answer, in Cronofy's shapes (`/v1/account`, `/v1/userinfo`)."""

from __future__ import annotations

from rest_framework import serializers

from calendars.api.serializers import ProfileWithCalendarsOutput
from conferencing.api.serializers import ConferencingProfileOutput


class AccountOutput(serializers.Serializer):
    class Account(serializers.Serializer):
        account_id = serializers.CharField(source="public_id")
        email = serializers.EmailField()
        name = serializers.CharField()
        default_tzid = serializers.CharField()

    account = Account(source="*")


class GrantAuthorizationOutput(serializers.Serializer):
    scope = serializers.CharField(help_text="The scopes granted, space-separated.")
    status = serializers.ChoiceField(choices=["active"])


class CronofyDataOutput(serializers.Serializer):
    authorization = GrantAuthorizationOutput()
    profiles = ProfileWithCalendarsOutput(many=True)
    conferencing_profiles = ConferencingProfileOutput(many=True)


class UserinfoOutput(serializers.Serializer):
    """OpenID-style claims plus Cronofy's `cronofy.type` and `cronofy.data` (keys with a dot, declared
    in get_fields since they cannot be attribute names)."""

    sub = serializers.CharField(source="public_id")
    email = serializers.EmailField()
    name = serializers.CharField()
    zoneinfo = serializers.CharField(source="default_tzid")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["cronofy.type"] = serializers.ChoiceField(choices=["account"], source="cronofy_type")
        fields["cronofy.data"] = CronofyDataOutput(source="cronofy_data")
        return fields


class ServiceAccountAuthorizationOutput(serializers.Serializer):
    scope = serializers.CharField(help_text="The service account's scopes, space-separated.")
    status = serializers.ChoiceField(choices=["active"])
    delegated_scope = serializers.CharField(help_text="The most it may ask for each person, space-separated.")


class ServiceAccountProviderOutput(serializers.Serializer):
    provider_name = serializers.CharField(allow_blank=True)
    domain = serializers.CharField(allow_blank=True)


class ServiceAccountDataOutput(serializers.Serializer):
    service_account = ServiceAccountProviderOutput()
    authorization = ServiceAccountAuthorizationOutput()


class ServiceAccountUserinfoOutput(serializers.Serializer):
    """Cronofy's userinfo for a service account's token (Enterprise Connect)."""

    sub = serializers.CharField()
    email = serializers.CharField(allow_blank=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["cronofy.type"] = serializers.ChoiceField(choices=["service_account"], source="cronofy_type")
        fields["cronofy.data"] = ServiceAccountDataOutput(source="cronofy_data")
        return fields
