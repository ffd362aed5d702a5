"""Output shapes every `/v1` endpoint shares, declared once so the OpenAPI schema says exactly what the
endpoints return: pages, Cronofy's times, and its error bodies.

Output serializers are written for dicts or model instances alike; a field marked `required=False` is
one Cronofy leaves out when it has nothing to say (DRF skips a key a dict does not hold).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

LOCALIZED_TIME = {
    "type": "object",
    "properties": {
        "time": {"type": "string", "description": "Local time with its UTC offset, e.g. 2026-03-03T10:00:00-05:00."},
        "tzid": {"type": "string", "description": "The time zone it is shown in."},
    },
    "required": ["time", "tzid"],
}


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "description": "A UTC time (2026-03-03T15:00:00Z), or a date for all-day events."},
            LOCALIZED_TIME,
        ]
    }
)
class CronofyTimeField(serializers.Field):
    """A time as Cronofy writes it: `2026-03-03T15:00:00Z`, a date for all-day events, or with
    `localized_times` an object of the local time and its zone. Views compute the value already shaped."""

    def to_representation(self, value: Any) -> Any:
        return value


class PagesOutput(serializers.Serializer):
    current = serializers.IntegerField(min_value=1)
    total = serializers.IntegerField(min_value=1)
    next_page = serializers.URLField(required=False, help_text="Absent on the last page.")


class ErrorMessageOutput(serializers.Serializer):
    """401, 403, 404, 423 and 429 bodies."""

    message = serializers.CharField()


class FieldErrorOutput(serializers.Serializer):
    key = serializers.CharField(help_text="errors.<code>, e.g. errors.required.")
    description = serializers.CharField()


class ValidationErrorOutput(serializers.Serializer):
    """422: Cronofy's shape for bad input."""

    # Cronofy names the field `errors`, which shadows Serializer.errors; this serializer only documents.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=FieldErrorOutput()),
        help_text="Each invalid field (dotted for nested ones) with what is wrong with it.",
    )
